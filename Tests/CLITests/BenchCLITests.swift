import Foundation
import XCTest

/// `sidenet bench models|kernels` at tiny settings: every measurement line appears with a
/// positive rate (no timing is asserted); an unknown architecture and bad counts fail cleanly.
final class BenchCLITests: XCTestCase {
    /// The first number after `marker` on the line that contains it.
    private func rate(_ out: String, _ marker: String) -> Double? {
        guard let l = out.split(separator: "\n").first(where: { $0.contains(marker) }),
              let r = l.range(of: marker) else { return nil }
        return l[r.upperBound...].split(separator: " ").compactMap { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: "(x,:"))) }.first
    }

    func testModelsAtTinySettings() throws {
        let s = CLIScratch("bench-models"); defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["bench", "models", "--archs", "resnet18", "--batch", "4", "--input-size", "16",
                                              "--threads", "1", "--repeat", "1", "--exit-rates", "0.5",
                                              "--text-archs", "distilbert", "--seq-len", "8", "--text-batch", "2", "--train-batch", "2"],
                                             cwd: s.dir))
        for marker in ["resnet18 inference:", "resnet18 training step (fwd+bwd+Adam, with SideNet):", "measured speed-up",
                       "distilbert inference, 2 x 8 tokens:", "distilbert training step (fwd+bwd+Adam, with SideNet), 2 x 8 tokens:"] {
            let v = rate(out, marker)
            XCTAssertNotNil(v, "no '\(marker)' line with a number:\n\(out)")
            XCTAssertGreaterThan(v ?? 0, 0, marker)
        }
        // the early-exit line reports the rate that actually exited (one of 0, 0.25, ..., 1 for 4 images)
        let exitRate = rate(out, "early exit, rate")
        XCTAssertTrue([0, 0.25, 0.5, 0.75, 1].contains(exitRate ?? -1), "\(String(describing: exitRate))")
    }

    func testKernelsTable() throws {
        let s = CLIScratch("bench-kernels"); defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["bench", "kernels", "--threads", "1", "--repeat", "1"], cwd: s.dir))
        let rowsOut = out.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains(" x ") && !$0.contains("M x K") }
        XCTAssertEqual(rowsOut.count, 4, out)
        for r in rowsOut {
            let cells = r.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertGreaterThan(Double(cells.count > 2 ? cells[2] : "") ?? 0, 0, "sgemm GF/s: \(r)")
        }
    }

    func testUnknownArchitectureAndBadCountsFail() throws {
        let s = CLIScratch("bench-bad"); defer { s.cleanup() }
        assertRejected(try sidenet(["bench", "models", "--archs", "resnet7", "--text-archs", "", "--batch", "2",
                                        "--input-size", "16", "--repeat", "1"], cwd: s.dir), mentions: ["resnet7"])
        assertRejected(try sidenet(["bench", "models", "--archs", "", "--text-archs", "gpt2", "--repeat", "1"], cwd: s.dir),
                           mentions: ["gpt2"])
        assertRejected(try sidenet(["bench", "kernels", "--repeat", "0"], cwd: s.dir), mentions: ["--repeat"])
        assertRejected(try sidenet(["bench", "models", "--batch", "1"], cwd: s.dir), mentions: ["--batch"])
        assertRejected(try sidenet(["bench", "models", "--clock", "sundial"], cwd: s.dir), mentions: ["--clock"])
        assertRejected(try sidenet(["bench", "models", "--stream", "0"], cwd: s.dir), mentions: ["--stream"])
    }
}
