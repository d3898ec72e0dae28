import Foundation
import XCTest

/// `sidenet inspect`: the tensors of a checkpoint written by `sidenet run`, whose parameter count
/// equals what the run stored (MainNet + SideNet, `sidenet show`); unreadable files fail cleanly.
final class InspectCLITests: XCTestCase {
    func testCheckpointTensorsAndParameterCountMatchTheStoredRun() throws {
        let f = try TinyCLI.fixture()
        let s = CLIScratch("inspect"); defer { s.cleanup() }
        let ckpt = try XCTUnwrap(f.checkpoints().first { $0.hasSuffix("/sidenet-seed0-best-epoch1.safetensors") })
        let out = assertSucceeds(try sidenet(["inspect", ckpt], cwd: s.dir))
        let lines = out.split(separator: "\n").map(String.init)
        func shape(_ name: String) -> String? {
            lines.first { $0.hasPrefix(name + " ") }.map { String($0[$0.range(of: "[")!.lowerBound...]) }
        }
        // tiny ResNet: width 4 stem 7x7, SideNet on layer1 ([4, 8, 8] = 256 features) with 8 hidden units
        XCTAssertEqual(shape("conv1.weight"), "[4, 3, 7, 7]", out)
        XCTAssertEqual(shape("sidenet.fc1.weight"), "[8, 256]", out)
        XCTAssertEqual(shape("head.fc2.weight"), "[10, 8]", out)
        XCTAssertNotNil(shape("layer4.0.downsample.0.weight"), out)
        let countLine = try XCTUnwrap(firstLine(out, startingWith: "parameters:"), out)
        let count = try XCTUnwrap(Int(countLine.split(separator: " ").last.map { String($0) } ?? ""), countLine)

        let list = assertSucceeds(try sidenet(["list", "--db", f.database], cwd: s.dir))
        let runId = try XCTUnwrap(listedRuns(list).first { $0[1] == "sidenet" }?[0], list)
        let show = assertSucceeds(try sidenet(["show", runId, "--db", f.database], cwd: s.dir))
        let p = try XCTUnwrap(firstLine(show, startingWith: "parameters:"), show)
        func stored(_ key: String) -> Int? {
            guard let r = p.range(of: key + " ") else { return nil }
            return Int(p[r.upperBound...].prefix { $0.isNumber })
        }
        let side = try XCTUnwrap(stored("SideNet")), main = try XCTUnwrap(stored("MainNet"))
        XCTAssertEqual(count, main + side, "checkpoint parameters vs stored MainNet + SideNet (\(p))")
        // the SideNet by hand: Linear 256->8, BatchNorm(8), Linear 8->10
        XCTAssertEqual(side, 256 * 8 + 8 + 16 + 8 * 10 + 10)
    }

    func testMissingAndNonWeightFilesFail() throws {
        let s = CLIScratch("inspect-bad"); defer { s.cleanup() }
        assertRejected(try sidenet(["inspect", "nothing.safetensors"], cwd: s.dir), mentions: ["nothing.safetensors"])
        try s.write("notes.pth", "plain text, not a weight file\n")
        assertRejected(try sidenet(["inspect", "notes.pth"], cwd: s.dir))
    }
}
