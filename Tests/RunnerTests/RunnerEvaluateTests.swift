import Foundation
import XCTest
import Runner
import Specs
import Store

/// `Runner.evaluate` (behind `sidenet eval`) on a run's best checkpoint reproduces the test
/// predictions the runner stored, for a full-model checkpoint and for a heads-only one.
final class RunnerEvaluateTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("eval") }
    override func tearDown() { scratch.cleanup() }

    private func check(_ spec: ExperimentSpec) throws {
        let store = try ResultStore(path: scratch.databasePath)
        let outcomes = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(outcomes.map(\.status), [.finished], "\(outcomes.map(\.reason))")
        guard let run = findRun(try storedRuns(store, spec), .sidenet, 0), let runId = run.id,
              let best = try store.checkpoint(runId: runId, kind: .best) else {
            return XCTFail("no finished run with a best checkpoint")
        }
        let stored = try store.predictions(runId: runId)
        let rows = try Runner.evaluate(spec: spec, checkpoint: URL(fileURLWithPath: best.path), split: "test",
                                       baseDir: SharedData.root)
        XCTAssertEqual(rows.count, stored.count)
        var worst = 0.0
        for (r, s) in zip(rows, stored) {
            XCTAssertEqual(r.index, s.idx)
            XCTAssertEqual(r.label, s.label)
            XCTAssertEqual(r.mainPred, s.mainPred, "example \(s.idx)")
            XCTAssertEqual(r.sidePred, s.sidePred, "example \(s.idx)")
            worst = max(worst, abs(r.mainConf - s.mainConf), abs((r.sideConf ?? -1) - (s.sideConf ?? -1)))
        }
        XCTAssertLessThan(worst, 1e-5, "max confidence difference \(worst)")
        XCTAssertThrowsError(try Runner.evaluate(spec: spec, checkpoint: URL(fileURLWithPath: best.path), split: "nope",
                                                 baseDir: SharedData.root))
    }

    func testEvaluateFullCheckpointReproducesStoredPredictions() throws {
        try check(try TinySpecs.resnet(name: "t-eval-full", variants: ["sidenet"], epochs: 2))
    }

    /// Text features are computed in length-sorted batches and cached; evaluation runs the whole
    /// model in pool order: equal predictions show the cached rows went back to their examples.
    func testTextFeatureCacheRowsMatchTheirExamples() throws {
        try check(try TinySpecs.bert(name: "t-eval-bert-heads", variants: ["sidenet"], regime: "heads", epochs: 2))
    }

    func testEvaluateHeadsCheckpointReproducesStoredPredictions() throws {
        try check(try TinySpecs.resnet(name: "t-eval-heads", variants: ["sidenet"], regime: "heads", epochs: 2))
    }
}
