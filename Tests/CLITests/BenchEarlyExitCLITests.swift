import Foundation
import XCTest

/// `sidenet bench models`' early-exit part at tiny settings: the prefix share and every exit line
/// carry both predictions (nominal and effective FLOPs) and the medians of the rounds; CPU clock
/// and the F(2x2) switch run; a zero round count fails cleanly. No timing is asserted.
final class BenchEarlyExitCLITests: XCTestCase {
    func testEarlyExitLinesCarryBothPredictions() throws {
        let s = CLIScratch("bench-exit"); defer { s.cleanup() }
        let out = assertSucceeds(try sidenet(["bench", "models", "--archs", "resnet18", "--batch", "4", "--input-size", "16",
                                              "--threads", "1", "--repeat", "1", "--exit-repeat", "2", "--exit-rates", "0.25,0.75",
                                              "--no-train", "--text-archs", "", "--clock", "cpu", "--no-winograd4x4"], cwd: s.dir))
        XCTAssertTrue(out.contains("cpu clock"), out)
        let share = out.split(separator: "\n").filter { $0.contains("prefix share of MainNet inference") }
        XCTAssertEqual(share.count, 1, out)
        XCTAssertTrue(share.first?.contains("nominal FLOPs") == true && share.first?.contains("effective FLOPs") == true, out)
        let exits = out.split(separator: "\n").filter { $0.contains("early exit, rate") }
        XCTAssertEqual(exits.count, 2, out)
        for l in exits {
            for marker in ["median", "by nominal FLOPs", "by effective FLOPs (taps reading real input)", "measured/effective", "same answers: yes"] {
                XCTAssertTrue(l.contains(marker), "no '\(marker)' in: \(l)")
            }
        }
    }

    func testZeroExitRoundsFail() throws {
        let s = CLIScratch("bench-exit-bad"); defer { s.cleanup() }
        assertRejected(try sidenet(["bench", "models", "--exit-repeat", "0"], cwd: s.dir), mentions: ["--exit-repeat"])
    }
}
