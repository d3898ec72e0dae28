import Foundation
import XCTest
import Runner
import Specs
import Store

/// Regime `sidenet`: only the SideNet trains and the MainNet stays exactly as loaded from a
/// harness checkpoint (backbone + head.*), e.g. the best checkpoint of a `full` run.
final class RunnerSideNetRegimeTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("sidenet-regime") }
    override func tearDown() { scratch.cleanup() }

    func testSideNetRegimeKeepsTheLoadedMainNet() throws {
        let store = try ResultStore(path: scratch.databasePath)
        let options = testOptions(scratch)
        let full = try TinySpecs.resnet(name: "t-regime-source", variants: ["sidenet"], epochs: 2)
        XCTAssertEqual(try Runner(store: store, options: options).run([full]).map(\.status), [.finished])
        guard let source = findRun(try storedRuns(store, full), .sidenet, 0), let sourceId = source.id,
              let best = try store.checkpoint(runId: sourceId, kind: .best) else {
            return XCTFail("no best checkpoint from the full run")
        }
        let spec = try TinySpecs.resnet(name: "t-regime-sidenet", variants: ["sidenet"], regime: "sidenet", epochs: 2,
                                        weights: best.path)
        let outcomes = try Runner(store: store, options: options).run([spec])
        XCTAssertEqual(outcomes.map(\.status), [.finished], "\(outcomes.map(\.reason))")
        guard let run = findRun(try storedRuns(store, spec), .sidenet, 0), let runId = run.id else {
            return XCTFail("no sidenet-regime run")
        }
        // The MainNet (backbone and head) is the loaded one, untouched by training.
        let before = try store.predictions(runId: sourceId), after = try store.predictions(runId: runId)
        XCTAssertEqual(before.count, after.count)
        // (same weights; only float rounding differs between the whole-network pass of the full run
        // and the cached-feature pass here)
        var worst: Float = 0
        for (b, a) in zip(before, after) {
            for (x, y) in zip(try a.mainLogitValues(), try b.mainLogitValues()) { worst = max(worst, abs(x - y)) }
            XCTAssertEqual(a.mainPred, b.mainPred, "example \(a.idx)")
        }
        XCTAssertLessThan(worst, 1e-5, "MainNet logits changed by up to \(worst)")
        XCTAssertNotNil(after.first?.sidePred)
    }

    func testSideNetRegimeRefusesWeightsWithoutAHead() throws {
        let store = try ResultStore(path: scratch.databasePath)
        let spec = try TinySpecs.resnet(name: "t-regime-nohead", variants: ["sidenet"], regime: "sidenet", epochs: 1)
        let outcomes = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(outcomes.map(\.status), [.failed])
        XCTAssertTrue(outcomes.first?.reason?.contains("head.*") ?? false, "\(outcomes.first?.reason ?? "")")
    }
}
