import Foundation
import XCTest

/// `sidenet bench heads` at tiny settings: the three kernel lines appear with positive figures for
/// both row types (no timing is asserted); bad settings fail with a one-line error naming the option.
final class BenchHeadsCLITests: XCTestCase {
    /// The numbers on the first line that starts with `prefix`.
    private func numbers(_ out: String, _ prefix: String) -> [Double] {
        guard let l = out.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return [] }
        return l.split(whereSeparator: { $0 == " " || $0 == "," || $0 == ";" }).compactMap { Double($0) }
    }

    func testTinySettingsPrintEveryKernel() throws {
        let s = CLIScratch("bench-heads"); defer { s.cleanup() }
        for dtype in ["float16", "float32"] {
            let out = assertSucceeds(try sidenet(["bench", "heads", "--cols", "100", "--rows", "40", "--batch", "16", "--out", "5",
                                                  "--dtype", dtype, "--steps", "2", "--repeat", "1"], cwd: s.dir))
            XCTAssertTrue(out.contains("generated stand-in rows: 40 x 100 \(dtype), batches of 16 -> 5"), out)
            for (prefix, count) in [("forward:", 4), ("weight gradient:", 4), ("adam update:", 2)] {
                let v = numbers(out, prefix)
                XCTAssertEqual(v.count, count, "\(prefix) \(dtype):\n\(out)")
                XCTAssertTrue(v.allSatisfy { $0 > 0 && $0.isFinite }, "\(prefix) \(dtype): \(v)")
            }
        }
    }

    func testBadSettingsFail() throws {
        let s = CLIScratch("bench-heads-bad"); defer { s.cleanup() }
        assertRejected(try sidenet(["bench", "heads", "--dtype", "bfloat16"], cwd: s.dir), mentions: ["--dtype", "bfloat16"])
        assertRejected(try sidenet(["bench", "heads", "--rows", "10"], cwd: s.dir), mentions: ["--rows"])
        assertRejected(try sidenet(["bench", "heads", "--steps", "0"], cwd: s.dir), mentions: ["--steps"])
        assertRejected(try sidenet(["bench", "heads", "--cols", "0"], cwd: s.dir), mentions: ["--cols"])
        assertRejected(try sidenet(["bench", "heads", "--rows", "1000000", "--cols", "16384", "--dtype", "float32"], cwd: s.dir),
                       mentions: ["8 GB"])
    }
}
