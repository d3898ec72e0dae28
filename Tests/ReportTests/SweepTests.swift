import Foundation
import XCTest
import Report

final class SweepTests: XCTestCase {
    let L = { (p: [Double]) -> [Float] in p.map { Float(log($0)) } }

    /// Four hand-made examples (3 classes). Side confidences 0.9, 0.6, 0.5, 0.4.
    func handRun(seed: Int = 1) -> RunResult {
        let preds = [
            // label 0: side right (0.9), main right
            Prediction(label: 0, sidePred: 0, sideConf: 0.9, mainPred: 0, mainConf: 0.95,
                       sideLogits: L([0.9, 0.05, 0.05]), mainLogits: L([0.95, 0.025, 0.025])),
            // label 1: side wrong (0.6), main right; ensemble [.35,.55,.1] -> 1 right
            Prediction(label: 1, sidePred: 0, sideConf: 0.6, mainPred: 1, mainConf: 0.8,
                       sideLogits: L([0.6, 0.3, 0.1]), mainLogits: L([0.1, 0.8, 0.1])),
            // label 2: side right (0.5), main wrong; ensemble [.175,.475,.35] -> 1 wrong
            Prediction(label: 2, sidePred: 2, sideConf: 0.5, mainPred: 1, mainConf: 0.7,
                       sideLogits: L([0.25, 0.25, 0.5]), mainLogits: L([0.1, 0.7, 0.2])),
            // label 1: side right (0.4), main right
            Prediction(label: 1, sidePred: 1, sideConf: 0.4, mainPred: 1, mainConf: 0.99,
                       sideLogits: L([0.3, 0.4, 0.3]), mainLogits: L([0.005, 0.99, 0.005])),
        ]
        let c = Compute(paramsPrefix: 10, paramsSideNet: 5, paramsMainNet: 100,
                        flopsPrefix: 1000, flopsSideNet: 50, flopsMainNet: 10000)
        return RunResult(experiment: "hand", variant: .sidenet, seed: seed, numClasses: 3,
                         compute: c, predictions: preds)
    }

    func testThetaGridFromIntegers() {
        let g = ThetaGrid.standard()
        XCTAssertEqual(g.count, 101)
        XCTAssertEqual(g[60], 0.6)
        XCTAssertEqual(g[85], 0.85)
        XCTAssertEqual(g[7], 0.07)
        XCTAssertEqual(g.last, 1.0)
        // Extra values equal to grid points are not duplicated; others are inserted in order.
        XCTAssertEqual(ThetaGrid.standard(extra: [0.61, 0.85]).count, 101)
        let g2 = ThetaGrid.standard(extra: [0.615])
        XCTAssertEqual(g2.count, 102)
        XCTAssertEqual(g2[62], 0.615)
    }

    func testSweepByHand() throws {
        let s = try sweep(run: handRun(), thetas: [0, 0.5, 0.6, 0.61, 1.0])
        func point(_ t: Double) -> SweepPoint { s.points.first { $0.theta == t }! }
        // theta 0.6 equals example 1's confidence: >= exits, so examples 0 and 1 exit.
        // correct: ex0 side yes, ex1 side no, ex2 main no, ex3 main yes -> 50 %.
        let p6 = point(0.6)
        XCTAssertEqual(p6.fractionSide, 0.5)
        XCTAssertEqual(p6.accuracy, 50)
        XCTAssertEqual(p6.paramsPerInput, (2 * 15 + 2 * 105) / 4.0)   // 60
        XCTAssertEqual(p6.flopsPerInput, (2 * 1050 + 2 * 10050) / 4.0) // 5550
        // theta 0.61: only ex0 exits; ex1 main right -> 75 %.
        XCTAssertEqual(point(0.61).fractionSide, 0.25)
        XCTAssertEqual(point(0.61).accuracy, 75)
        XCTAssertEqual(point(0.61).paramsPerInput, (15 + 3 * 105) / 4.0)
        // theta 0.5: ex0, ex1, ex2 exit -> ex0, ex2, ex3 right.
        XCTAssertEqual(point(0.5).accuracy, 75)
        XCTAssertEqual(point(0.5).paramsPerInput, 37.5)
        // theta 0: everything exits: SideNet alone, prefix + SideNet params.
        XCTAssertEqual(point(0).fractionSide, 1)
        XCTAssertEqual(point(0).accuracy, 75)
        XCTAssertEqual(point(0).paramsPerInput, 15)
        XCTAssertEqual(point(0).flopsPerInput, 1050)
        // theta 1: nothing exits: MainNet accuracy, MainNet + SideNet params.
        XCTAssertEqual(point(1).fractionSide, 0)
        XCTAssertEqual(point(1).accuracy, 75)
        XCTAssertEqual(point(1).paramsPerInput, 105)
        XCTAssertEqual(s.sideAccuracy, 75)
        XCTAssertEqual(s.mainAccuracy, 75)
    }

    func testEnsembleColumns() throws {
        let s = try sweep(run: handRun(), thetas: [0, 0.6, 0.61, 1.0])
        // Ensemble on every input: ex0, ex1, ex3 right, ex2 wrong.
        for p in s.points { XCTAssertEqual(p.ensembleAccuracy, 75) }
        // Exit then ensemble: theta 0.6 -> ex0 side right, ex1 side wrong, ex2 ens wrong, ex3 ens right.
        XCTAssertEqual(s.points[1].exitEnsembleAccuracy, 50)
        XCTAssertEqual(s.points[2].exitEnsembleAccuracy, 75)
        XCTAssertEqual(s.points[0].exitEnsembleAccuracy, 75) // = SideNet alone
        XCTAssertEqual(s.points[3].exitEnsembleAccuracy, 75) // = ensemble alone
    }

    func testEnsemblePredictionRules() {
        // Softmax heads: side argmax 0, main argmax 1, average [.3, .45, .25] -> 1.
        XCTAssertEqual(ensemblePrediction(sideLogits: L([0.5, 0.3, 0.2]), mainLogits: L([0.1, 0.6, 0.3])), 1)
        // average [.45, .35, .2] -> 0 although the MainNet says 1.
        XCTAssertEqual(ensemblePrediction(sideLogits: L([0.7, 0.2, 0.1]), mainLogits: L([0.2, 0.5, 0.3])), 0)
        // Single sigmoid logits: sigma(2) = .8808, sigma(-1) = .2689 -> mean .5749 -> 1.
        XCTAssertEqual(ensemblePrediction(sideLogits: [2], mainLogits: [-1]), 1)
        XCTAssertEqual(ensemblePrediction(sideLogits: [-2], mainLogits: [1]), 0)
        // Two-class exact tie -> 1 (p >= 0.5 rule); three-class tie -> first maximal index.
        XCTAssertEqual(ensemblePrediction(sideLogits: [0, 0], mainLogits: [0, 0]), 1)
        XCTAssertEqual(ensemblePrediction(sideLogits: [0, 1, 1], mainLogits: [0, 1, 1]), 1)
        XCTAssertNil(ensemblePrediction(sideLogits: [], mainLogits: [1, 2]))
        // Stable sigmoid for large |z|.
        XCTAssertEqual(sigmoid(-800), 0, accuracy: 1e-300)
        XCTAssertEqual(sigmoid(800), 1)
        XCTAssertEqual(probabilities(fromLogits: [0])[1], 0.5)
    }

    func testMeanStdOverSeeds() throws {
        let m = meanStd([1, 2, 3, 4])!
        XCTAssertEqual(m.mean, 2.5)
        // Sample std: sqrt(((1.5^2 + .5^2) * 2) / 3) = sqrt(5/3).
        XCTAssertEqual(m.std, (5.0 / 3).squareRoot(), accuracy: 1e-12, "std \(m.std)")
        XCTAssertEqual(meanStd([7])!, MeanStd(mean: 7, std: 0))
        XCTAssertNil(meanStd([]))

        // Two seeds: the second has example 1's side prediction fixed (right).
        var r2 = handRun(seed: 2)
        r2.predictions[1].sidePred = 1
        let agg = try aggregate([try sweep(run: handRun(), thetas: [0.6]), try sweep(run: r2, thetas: [0.6])])
        XCTAssertEqual(agg.count, 1)
        XCTAssertEqual(agg[0].seeds, 2)
        XCTAssertEqual(agg[0].accuracy.mean, 62.5)
        // |50 - 75| / sqrt(2) for two values.
        XCTAssertEqual(agg[0].accuracy.std, 25 / 2.0.squareRoot(), accuracy: 1e-9, "std \(agg[0].accuracy.std)")
        XCTAssertEqual(agg[0].paramsPerInput.std, 0)
        // Mismatched grids are an error.
        XCTAssertThrowsError(try aggregate([try sweep(run: handRun(), thetas: [0.6]),
                                            try sweep(run: r2, thetas: [0.5])]))
    }

    func testBaselinePointAndErrors() throws {
        var b = handRun()
        b.variant = .baseline
        for i in b.predictions.indices {
            b.predictions[i].sidePred = nil; b.predictions[i].sideConf = nil; b.predictions[i].sideLogits = nil
        }
        let p = try baselinePoint([b])!
        XCTAssertEqual(p.accuracy.mean, 75)
        XCTAssertEqual(p.paramsPerInput.mean, 100) // MainNet alone, no SideNet
        XCTAssertEqual(p.flopsPerInput.mean, 10000)
        XCTAssertThrowsError(try sweep(run: b, thetas: [0.5])) { e in
            XCTAssertEqual(e as? ReportError, .missingSideOutputs(experiment: "hand", seed: 1, index: 0))
        }
        var dup = [handRun(), handRun()]
        dup[1].seed = 1
        XCTAssertThrowsError(try Report.build(runs: dup, experiments: [], expected: []))
    }
}
