import Foundation
import XCTest
import Report
import Runner
import Specs
import Store

/// End to end through the store: a finished run's validation rows are the best epoch's
/// validation outputs, and `choose` / the diagnostics recomputed by hand from the database rows
/// give the same numbers as the Report code.
final class RunnerChooseTests: XCTestCase {
    func runTiny(_ scratch: Scratch, name: String) throws -> (ResultStore, ExperimentSpec, RunRow) {
        let spec = try TinySpecs.resnet(name: name, variants: ["sidenet"], epochs: 2)
        let store = try ResultStore(path: scratch.databasePath)
        _ = try Runner(store: store, options: testOptions(scratch)).run([spec])
        let run = try XCTUnwrap(findRun(try storedRuns(store, spec), .sidenet, 0))
        XCTAssertEqual(run.status, .finished)
        return (store, spec, run)
    }

    func testValidationRowsAreTheBestEpochsValidationOutputs() throws {
        let scratch = Scratch("val-rows")
        defer { scratch.cleanup() }
        let (store, spec, run) = try runTiny(scratch, name: "val-rows")
        let rows = try store.validationPredictions(runId: run.id!)
        XCTAssertEqual(rows.count, 20, "spec holds out 20 validation images")
        XCTAssertEqual(rows.map(\.idx), Array(0..<20))
        // Accuracy of the stored rows = the epoch table's validation accuracy of the best epoch.
        let best = try XCTUnwrap(store.epochs(runId: run.id!).first { $0.epoch == run.bestEpoch })
        let mainAcc = Double(rows.filter { $0.mainPred == $0.label }.count) / 20
        let sideAcc = Double(rows.filter { $0.sidePred == $0.label }.count) / 20
        XCTAssertEqual(mainAcc, best.valAccMain!, accuracy: 1e-12)
        XCTAssertEqual(sideAcc, best.valAccSide!, accuracy: 1e-12)
        // And the logits are those of the best checkpoint evaluated on the validation split.
        let ckpt = try XCTUnwrap(store.checkpoint(runId: run.id!, kind: .best))
        let evaluated = try Runner.evaluate(spec: spec, checkpoint: URL(fileURLWithPath: ckpt.path), split: "validation",
                                            baseDir: SharedData.root)
        XCTAssertEqual(evaluated.count, 20)
        for (r, e) in zip(rows, evaluated) {
            XCTAssertEqual(r.label, e.label)
            XCTAssertEqual(try r.mainLogitValues(), e.mainLogits)
            XCTAssertEqual(try r.sideLogitValues(), e.sideLogits)
        }
    }

    /// P(Binomial(n, p) <= k) by direct summation (independent of `LTT`).
    func binomialCDF(_ k: Int, _ n: Int, _ p: Double) -> Double {
        var sum = 0.0
        for j in 0...max(0, min(k, n)) where k >= 0 {
            var c = 1.0
            for i in 0..<j { c = c * Double(n - i) / Double(i + 1) }
            sum += c * pow(p, Double(j)) * pow(1 - p, Double(n - j))
        }
        return k < 0 ? 0 : sum
    }

    func testChooseRecomputedFromTheDatabaseRows() throws {
        let scratch = Scratch("choose-db")
        defer { scratch.cleanup() }
        let (store, _, run) = try runTiny(scratch, name: "choose-db")
        let loaded = try ChooseReader.load(store, names: ["choose-db"])
        let cr = try XCTUnwrap(loaded.runs.first)
        let val = try store.validationPredictions(runId: run.id!), test = try store.predictions(runId: run.id!)
        let grid = (0...100).map { Double($0) / 100 }
        let exitP = Double(run.paramsPrefix! + run.paramsSidenet!), fullP = Double(run.paramsMainnet! + run.paramsSidenet!)
        func stats(_ rows: [PredictionRow], _ theta: Double) -> (acc: Double, main: Double, params: Double, harm: Int) {
            var correct = 0, main = 0, exits = 0, harm = 0
            for r in rows {
                let exit = r.sideConf! >= theta
                if exit { exits += 1 }
                if (exit ? r.sidePred! : r.mainPred) == r.label { correct += 1 }
                if r.mainPred == r.label { main += 1 }
                if exit && r.mainPred == r.label && r.sidePred! != r.label { harm += 1 }
            }
            let n = Double(rows.count)
            return (100 * Double(correct) / n, 100 * Double(main) / n,
                    (Double(exits) * exitP + (n - Double(exits)) * fullP) / n, harm)
        }
        for drop in [0.0, 5, 20, 60] {
            // naive: cheapest validation θ within the drop (ties: larger θ)
            let ok = grid.filter { let s = stats(val, $0); return s.main - s.acc <= drop + 1e-9 }
            let naive = ok.min { (stats(val, $0).params, -$0) < (stats(val, $1).params, -$1) }
            let r = try cr.choose(target: .maxAccuracyDrop(drop), method: .naive, rule: .maxsoftmax, delta: 0.1)
            XCTAssertEqual(r.theta, naive, "naive, drop \(drop)")
            // ltt: from θ = 1 down while P(Bin(n, drop/100) <= harm) <= δ
            var ltt: Double? = nil
            for t in grid.reversed() {
                guard binomialCDF(stats(val, t).harm, val.count, drop / 100) <= 0.2 else { break }
                ltt = t
            }
            let l = try cr.choose(target: .maxAccuracyDrop(drop), method: .ltt, rule: .maxsoftmax, delta: 0.2)
            XCTAssertEqual(l.theta, ltt, "ltt, drop \(drop)")
            if let t = l.theta {
                let s = stats(test, t)
                XCTAssertEqual(l.test.accuracyPct, s.acc, accuracy: 1e-9)
                XCTAssertEqual(l.test.mainnetAccuracyPct, s.main, accuracy: 1e-9)
                XCTAssertEqual(l.test.paramsPerInput, s.params, accuracy: 1e-6)
            }
        }
        // Per-class exit rate and accuracy and the SideNet's failure AUROC, by hand from the test rows.
        let theta = 0.3
        let outcomes = try exitOutcomes(cr.test, rule: .maxsoftmax, context: "t")
        let perClass = Diagnostics.perClass(outcomes, theta: theta, numClasses: run.numClasses!)
        for c in perClass where c.inputs > 0 {
            let rows = test.filter { $0.label == c.label }
            XCTAssertEqual(c.inputs, rows.count)
            XCTAssertEqual(c.exitRate, Double(rows.filter { $0.sideConf! >= theta }.count) / Double(rows.count), accuracy: 1e-12)
            XCTAssertEqual(c.accuracyPct, stats(rows, theta).acc, accuracy: 1e-9)
        }
        var wins = 0.0, pairs = 0.0
        for a in test where a.sidePred == a.label {
            for b in test where b.sidePred != b.label {
                pairs += 1
                wins += a.sideConf! > b.sideConf! ? 1 : (a.sideConf! == b.sideConf! ? 0.5 : 0)
            }
        }
        if pairs > 0 {
            XCTAssertEqual(Diagnostics.failureAUROC(cr.test, rule: .maxsoftmax).side!, wins / pairs, accuracy: 1e-12)
        }
    }
}
