import Foundation
import XCTest

/// `sidenet model`: the compute table against torchvision's / HF's published parameter totals
/// and its own row sums; an unknown architecture or attach point fails naming it.
final class ModelCLITests: XCTestCase {
    /// Parameters column of the row whose name starts with `name`.
    private func params(_ out: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) -> Int? {
        guard let row = out.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else {
            XCTFail("no row '\(name)' in:\n\(out)", file: file, line: line); return nil
        }
        let fields = row.dropFirst(44).split(separator: " ")
        return fields.first.flatMap { Int($0.replacingOccurrences(of: ",", with: "")) }
    }

    private func checkRows(_ out: String, mainNet: Int, side: Int, file: StaticString = #filePath, line: UInt = #line) {
        let prefix = params(out, "MainNet prefix", file: file, line: line) ?? -1
        let rest = params(out, "MainNet remainder", file: file, line: line) ?? -1
        let head = params(out, "MainNet head", file: file, line: line) ?? -1
        let sideNet = params(out, "SideNet", file: file, line: line) ?? -1
        XCTAssertEqual(params(out, "MainNet alone", file: file, line: line), mainNet, file: file, line: line)
        XCTAssertEqual(prefix + rest + head, mainNet, "prefix + remainder + head", file: file, line: line)
        XCTAssertEqual(sideNet, side, "SideNet", file: file, line: line)
        XCTAssertEqual(params(out, "with SideNet, no example exits", file: file, line: line), mainNet + side, file: file, line: line)
        XCTAssertEqual(params(out, "with SideNet, every example exits", file: file, line: line), prefix + side, file: file, line: line)
    }

    func testResNetTablesMatchTorchvision() throws {
        let s = CLIScratch("model"); defer { s.cleanup() }
        // torchvision num_params with the 1000-class fc; the MLP head (hidden 32, 10 classes) replaces fc.
        let head10 = 512 * 32 + 32 + 64 + 32 * 10 + 10, head10b = 2048 * 32 + 32 + 64 + 32 * 10 + 10
        for (arch, total, fcIn, head) in [("resnet18", 11_689_512, 512, head10), ("resnet34", 21_797_672, 512, head10),
                                          ("resnet50", 25_557_032, 2048, head10b), ("resnet152", 60_192_808, 2048, head10b)] {
            let out = assertSucceeds(try sidenet(["model", arch], cwd: s.dir))
            let tv = try XCTUnwrap(firstLine(out, startingWith: "torchvision"), out)
            XCTAssertTrue(tv.contains(grouped(total)), "\(arch): \(tv)")
            // SideNet at layer1 of a 32x32 input: 64 (basic) or 256 (bottleneck) channels at 8x8
            let c = fcIn == 512 ? 64 : 256
            checkRows(out, mainNet: total - (fcIn * 1000 + 1000) + head, side: c * 64 * 32 + 32 + 64 + 330)
        }
    }

    func testTextTablesMatchTransformers() throws {
        let s = CLIScratch("model-text"); defer { s.cleanup() }
        for (arch, total, d) in [("bert-base", 109_482_240, 768), ("bert-large", 335_141_888, 1024), ("distilbert", 66_362_880, 768)] {
            let out = assertSucceeds(try sidenet(["model", arch, "--seq-len", "16"], cwd: s.dir))
            let hf = try XCTUnwrap(firstLine(out, startingWith: "HF base model"), out)
            XCTAssertTrue(hf.contains(grouped(total)), "\(arch): \(hf)")
            // one sigmoid output, hidden 32, on the 768/1024-wide [CLS] (or pooler) state
            let mlp = d * 32 + 32 + 64 + 32 + 1
            // DistilBERT has no pooler: its MainNet is the base model + head; BERT's pooler is in the base model
            checkRows(out, mainNet: total + mlp, side: mlp)
        }
    }

    func testUnknownArchitectureAndAttachPointFail() throws {
        let s = CLIScratch("model-bad"); defer { s.cleanup() }
        assertRejected(try sidenet(["model", "resnet7"], cwd: s.dir), mentions: ["resnet7"])
        assertRejected(try sidenet(["model", "resnet18", "--attach", "layer9"], cwd: s.dir), mentions: ["layer9"])
        assertRejected(try sidenet(["model", "bert-base", "--attach", "encoder.layer.12"], cwd: s.dir), mentions: ["encoder.layer.12"])
    }

    private func grouped(_ n: Int) -> String {
        let f = NumberFormatter()
        f.numberStyle = .decimal; f.groupingSeparator = ","; f.usesGroupingSeparator = true
        return f.string(from: NSNumber(value: n)) ?? "\(n)"
    }
}
