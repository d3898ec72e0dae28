import Foundation
import XCTest
import Runner
import Specs
import Store

/// Any error fails only its run, with its reason; the other runs and specs go on. Requested
/// seeds and variants a spec lacks are reported. A SIGTERM stop is recorded as such.
final class RunnerFailureTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("failures") }
    override func tearDown() { scratch.cleanup() }

    func testFailuresFailOnlyTheirRunsAndEverythingElseGoesOn() throws {
        // every run of this spec fails on its data, each one recorded with the reason
        let noData = try TinySpecs.resnet(name: "t-fail-data", epochs: 1, dataPath: "no-such-cifar")
        // this one is invalid (validation throws): its runs fail without stopping the next spec
        var invalid = try TinySpecs.resnet(name: "t-fail-invalid", variants: ["sidenet"], epochs: 1)
        invalid.training.epochs = 0
        let good = try TinySpecs.resnet(name: "t-fail-good", variants: ["baseline"], epochs: 1)
        let store = try ResultStore(path: scratch.databasePath)
        let progress = RecordingProgress()
        let outcomes = try Runner(store: store, options: testOptions(scratch, progress: progress)).run([noData, invalid, good])
        XCTAssertEqual(outcomes.map { "\($0.experiment) \($0.variant.rawValue) \($0.status.rawValue)" },
                       ["t-fail-data sidenet failed", "t-fail-data baseline failed",
                        "t-fail-invalid sidenet failed", "t-fail-good baseline finished"])
        XCTAssertTrue(outcomes[0].reason?.contains("no-such-cifar") ?? false, "\(outcomes[0])")
        XCTAssertEqual(outcomes[0].reason, outcomes[1].reason)
        XCTAssertTrue(outcomes[2].reason?.contains("training.epochs") ?? false, "\(outcomes[2])")
        let stored: [RunRow] = try storedRuns(store, noData)
        XCTAssertEqual(stored.map(\.status), [.failed, .failed], "both runs recorded as failed, none left 'running'")
        XCTAssertEqual(stored.map(\.reason), [outcomes[0].reason, outcomes[0].reason])
        XCTAssertEqual(try storedRuns(store, good).map(\.status), [.finished])
    }

    func testSeedsAndVariantsTheSpecLacksAreReported() throws {
        let spec = try TinySpecs.resnet(name: "t-select", seeds: [0, 1], variants: ["sidenet"], epochs: 1)
        var options = testOptions(scratch)
        options.seeds = [1, 7]
        options.variants = [.sidenet, .baseline]
        let sel = Runner.selection(spec, options)
        XCTAssertEqual(sel.seeds, [1])
        XCTAssertEqual(sel.variants, [.sidenet])
        XCTAssertEqual(sel.missingSeeds, [7])
        XCTAssertEqual(sel.missingVariants, [.baseline])
        options.seeds = [7]
        XCTAssertTrue(Runner.selection(spec, options).isEmpty)

        let progress = RecordingProgress()
        options.progress = progress
        let store = try ResultStore(path: scratch.databasePath)
        let outcomes = try Runner(store: store, options: options).run([spec])
        XCTAssertEqual(outcomes, [])
        XCTAssertTrue(progress.notes.contains { $0.contains("t-select: the spec has no seed 7, variant baseline")
                                                && $0.contains("nothing to run") }, "\(progress.notes)")
    }

    func testSIGTERMStopIsRecordedAsSuch() throws {
        let spec = try TinySpecs.resnet(name: "t-sigterm", variants: ["sidenet"], epochs: 2)
        let store = try ResultStore(path: scratch.databasePath)
        var options = testOptions(scratch)
        let stop = options.stop
        options.afterEpoch = { _, _, _, _ in stop.request(signal: SIGTERM) }
        let outcomes = try Runner(store: store, options: options).run([spec])
        XCTAssertEqual(outcomes.map(\.status), [.interrupted])
        XCTAssertEqual(outcomes.first?.reason, "stopped by SIGTERM; rerun to resume")
        let run = try XCTUnwrap(try storedRuns(store, spec).first)
        XCTAssertEqual(run.status, .interrupted)
        XCTAssertEqual(run.reason, "stopped by SIGTERM; rerun to resume")
        XCTAssertEqual(stop.signal, SIGTERM)
    }
}
