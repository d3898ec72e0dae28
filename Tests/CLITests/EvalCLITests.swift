import Foundation
import XCTest

/// `sidenet eval`: a checkpoint of the shared run evaluated on the test split, one CSV row per
/// example with consistent predictions; a missing checkpoint and a bad split fail cleanly.
final class EvalCLITests: XCTestCase {
    private func bestCheckpoint(_ f: TinyCLI.Fixture, _ variant: String) throws -> String {
        try XCTUnwrap(f.checkpoints().first { $0.hasSuffix("/\(variant)-seed0-best-epoch1.safetensors") },
                      "checkpoints: \(f.checkpoints())")
    }

    func testEvalWritesOneRowPerTestImage() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("eval"); defer { s.cleanup() }
        let ckpt = try bestCheckpoint(f, "sidenet")
        let out = assertSucceeds(try sidenet(["eval", f.resnetSpec, "--checkpoint", ckpt, "--out", "preds.csv"], cwd: s.dir))
        XCTAssertTrue(out.contains("\(TinyCLI.cifarTest) rows"), out)
        let text = try String(contentsOfFile: s.path("preds.csv"), encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = try XCTUnwrap(lines.first)
        XCTAssertEqual(Array(header.prefix(6)), ["index", "label", "side_pred", "side_conf", "main_pred", "main_conf"])
        XCTAssertEqual(header.count, 6 + 10 + 10, "10 side and 10 main logits: \(header)")
        XCTAssertEqual(lines.count - 1, TinyCLI.cifarTest)
        for (i, row) in lines.dropFirst().enumerated() {
            XCTAssertEqual(row.count, header.count, "row \(i)")
            XCTAssertEqual(Int(row[0]), i)
            XCTAssertTrue((0..<10).contains(Int(row[1]) ?? -1), "label of row \(i)")
            // main_pred is the argmax of the main logits, side_pred of the side logits
            let side = row[6..<16].compactMap(Double.init), main = row[16..<26].compactMap(Double.init)
            XCTAssertEqual(side.count, 10); XCTAssertEqual(main.count, 10)
            XCTAssertEqual(Int(row[4]), main.indices.max { main[$0] < main[$1] }, "main_pred row \(i)")
            XCTAssertEqual(Int(row[2]), side.indices.max { side[$0] < side[$1] }, "side_pred row \(i)")
            let conf = Double(row[5]) ?? -1
            XCTAssertTrue(conf >= 0.1 - 1e-6 && conf <= 1, "main_conf row \(i): \(conf)")
        }
    }

    /// A baseline checkpoint has no SideNet: the side columns stay empty.
    func testBaselineCheckpointLeavesSideColumnsEmpty() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("eval-base"); defer { s.cleanup() }
        let ckpt = try bestCheckpoint(f, "baseline")
        assertSucceeds(try sidenet(["eval", f.resnetSpec, "--checkpoint", ckpt, "--split", "validation", "--out", "v.csv"], cwd: s.dir))
        let lines = try String(contentsOfFile: s.path("v.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count - 1, 12, "the 12 validation images")
        let first = lines[1].split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertEqual(first[2], "", "side_pred of a baseline")
        XCTAssertFalse(first[4].isEmpty, "main_pred")
    }

    func testMissingCheckpointFailsNamingIt() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("eval-missing"); defer { s.cleanup() }
        let r = try sidenet(["eval", f.resnetSpec, "--checkpoint", "gone.safetensors", "--out", "x.csv"], cwd: s.dir)
        assertRejected(r, mentions: ["gone.safetensors"])
        XCTAssertFalse(s.exists("x.csv"))
    }

    func testUnknownSplitFails() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("eval-split"); defer { s.cleanup() }
        let ckpt = try bestCheckpoint(f, "sidenet")
        let r = try sidenet(["eval", f.resnetSpec, "--checkpoint", ckpt, "--split", "holdout", "--out", "x.csv"], cwd: s.dir)
        assertRejected(r, mentions: ["holdout"])
    }
}
