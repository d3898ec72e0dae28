import Foundation
import XCTest

/// `sidenet bench models --no-fold` (eval without BatchNorm folding, the reference path) and
/// `--clock cpu` (process CPU time) at tiny settings: both report a positive inference rate and
/// the header names the clock; a bad clock fails (BenchCLITests). No timing is asserted.
final class BenchFoldClockCLITests: XCTestCase {
    func testNoFoldAndCPUClock() throws {
        let s = CLIScratch("bench-fold-clock"); defer { s.cleanup() }
        for extra in [["--no-fold"], ["--clock", "cpu"], ["--no-fold", "--clock", "cpu"]] {
            let out = assertSucceeds(try sidenet(["bench", "models", "--archs", "resnet18", "--batch", "4", "--input-size", "16",
                                                  "--threads", "1", "--repeat", "1", "--exit-rates", "", "--text-archs", "",
                                                  "--no-train"] + extra, cwd: s.dir))
            let clock = extra.contains("cpu") ? "cpu clock" : "wall clock"
            XCTAssertTrue(out.contains(clock), "\(extra): header without '\(clock)':\n\(out)")
            let line = out.split(separator: "\n").first { $0.hasPrefix("resnet18 inference: ") }
            let rate = line.flatMap { Double($0.dropFirst("resnet18 inference: ".count).split(separator: " ").first ?? "") }
            XCTAssertGreaterThan(rate ?? 0, 0, "\(extra): no positive inference rate:\n\(out)")
        }
    }

    func testBadFlagCombinationFails() throws {
        let s = CLIScratch("bench-fold-bad"); defer { s.cleanup() }
        assertRejected(try sidenet(["bench", "models", "--no-fold", "--clock", "cpu-time"], cwd: s.dir), mentions: ["--clock"])
    }
}
