import Foundation
import XCTest

/// `sidenet plan` writes each experiment's row as soon as it is measured, also into a file or
/// pipe (block-buffered stdout used to hold every line until the process ended).
final class PlanStreamingCLITests: XCTestCase {
    private func spec(name: String, width: Int, blocks: String, batch: Int) -> String {
        """
        name: \(name)
        seeds: [0]
        variants: [sidenet]
        data: {dataset: cifar10, path: data/absent, synthetic: true, validation: 10, input_size: 32}
        mainnet:
          arch: resnet
          config: {blocks: \(blocks), width: \(width), block: basic}
          weights: null
          head: {hidden: 8}
        sidenet: {attach: layer1, hidden: 8}
        training:
          regime: full
          optimizer: {name: adam, lr: 1.0e-3}
          epochs: 1
          batch_size: \(batch)
        evaluation: {batch_size: \(batch)}
        """
    }

    /// The first experiment's row is in the output file while the second (a far larger model,
    /// many timed batches) is still being measured; the process is then stopped.
    func testPlanWritesEachRowBeforeItEnds() throws {
        let s = CLIScratch("plan-stream"); defer { s.cleanup() }
        try s.write("small.yaml", spec(name: "tiny-first", width: 4, blocks: "[1, 1, 1, 1]", batch: 4))
        try s.write("large.yaml", spec(name: "large-second", width: 96, blocks: "[3, 4, 6, 3]", batch: 256))
        let (p, out, _) = try startSidenet(["plan", "small.yaml", "large.yaml", "--steps", "400", "--threads", "1"],
                                           cwd: s.dir, logName: "plan")
        defer { if p.isRunning { p.terminate(); p.waitUntilExit() } }
        var seenWhileRunning = false
        // A watchdog, not a timing check: without streaming the large measurement would hold the
        // test for many minutes; the small row comes within seconds when it streams.
        let giveUp = Date().addingTimeInterval(300)
        while p.isRunning && Date() < giveUp {
            let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            if text.split(separator: "\n").contains(where: { $0.hasPrefix("tiny-first") }) {
                seenWhileRunning = p.isRunning
                break
            }
            usleep(50_000)
        }
        let text = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        XCTAssertTrue(seenWhileRunning, "no row for tiny-first before the process ended; stdout: \(text)")
        XCTAssertTrue(text.contains("examples x epochs"), "the header comes first: \(text)")
        XCTAssertFalse(text.contains("large-second"), "the large experiment cannot be measured yet: \(text)")
    }

    func testPlanStreamingRefusesAMissingSecondSpecBeforeMeasuring() throws {
        let s = CLIScratch("plan-stream-bad"); defer { s.cleanup() }
        try s.write("small.yaml", spec(name: "tiny-first", width: 4, blocks: "[1, 1, 1, 1]", batch: 4))
        let r = try sidenet(["plan", "small.yaml", "absent.yaml", "--steps", "1", "--threads", "1"], cwd: s.dir)
        assertFails(r, containing: "spec file not found: absent.yaml")
        XCTAssertFalse(r.stdout.contains("tiny-first"), "specs are all loaded before any is measured: \(r.stdout)")
    }
}
