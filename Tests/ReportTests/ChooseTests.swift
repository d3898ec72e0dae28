import Foundation
import XCTest
import Report

/// θ choice on a hand-built validation split (every expected number worked out by hand in the
/// comments), the binomial p-values, exit rules, AUROC, per-class rates and curve areas.
final class ChooseTests: XCTestCase {
    // prefix 10 + SideNet 2 = 12 params on exit; MainNet 100 + SideNet 2 = 102 otherwise.
    let compute = Compute(paramsPrefix: 10, paramsSideNet: 2, paramsMainNet: 100, flopsPrefix: 1000,
                          flopsSideNet: 20, flopsMainNet: 10_000)
    let grid = [0.0, 0.5, 0.9]

    /// (score, SideNet right, MainNet right). MainNet right on 7/10 (70 %).
    /// θ 0.9: exits 1-3, accuracy 70 %, drop 0, harm 1 (#3), params (3·12 + 7·102)/10 = 75.
    /// θ 0.5: exits 1-6, accuracy 60 %, drop 10, harm 2 (#3, #5), params 48.
    /// θ 0:   all exit,  accuracy 50 %, drop 20, harm 4 (#3, #5, #8, #9), params 12.
    var validation: [ExitOutcome] {
        let rows: [(Double, Bool, Bool)] = [(0.95, true, true), (0.95, true, false), (0.92, false, true), (0.7, true, true),
                                            (0.6, false, true), (0.6, false, false), (0.3, true, true), (0.3, false, true),
                                            (0.2, false, true), (0.1, true, false)]
        return rows.map { s, side, main in ExitOutcome(label: 1, score: s, sidePred: side ? 1 : 0, mainPred: main ? 1 : 2) }
    }

    func testThetaTableCountsByHand() {
        let t = ThetaTable(validation, thetas: grid)
        XCTAssertEqual(t.counts.map(\.exits), [10, 6, 3])
        XCTAssertEqual(t.counts.map(\.correct), [5, 6, 7])
        XCTAssertEqual(t.counts.map(\.harm), [4, 2, 1])
        let m = t.counts.map { SplitMetrics($0, cost: PathCost(compute)) }
        XCTAssertEqual(m.map(\.paramsPerInput), [12, 48, 75])
        XCTAssertEqual(m.map(\.dropPts), [20, 10, 0])
        XCTAssertEqual(m[1].flopsPerInput, (6 * 1020 + 4 * 10_020) / 10, accuracy: 1e-9)
    }

    func testBinomialPValuesByHand() {
        XCTAssertEqual(LTT.binomialCDF(1, n: 10, p: 0.5), 11.0 / 1024, accuracy: 1e-12)
        XCTAssertEqual(LTT.binomialCDF(2, n: 10, p: 0.5), 56.0 / 1024, accuracy: 1e-12)
        XCTAssertEqual(LTT.binomialCDF(4, n: 10, p: 0.5), 386.0 / 1024, accuracy: 1e-12)
        XCTAssertEqual(LTT.binomialCDF(4, n: 10, p: 48.0 / 90), 0.29811622300763096, accuracy: 1e-12)
        XCTAssertEqual(LTT.binomialCDF(10, n: 10, p: 0.3), 1)
        XCTAssertEqual(LTT.binomialCDF(3, n: 10, p: 0), 1)
        // Large n stays finite and monotone.
        let a = LTT.binomialCDF(40, n: 5000, p: 0.01), b = LTT.binomialCDF(60, n: 5000, p: 0.01)
        XCTAssertTrue(a > 0 && a < b && b < 1)
    }

    func testFixedSequenceStopsAtFirstNonRejection() {
        let p = [0.01, 0.2, 0.01]
        XCTAssertEqual(LTT.fixedSequence(order: [0, 1, 2], pValue: { p[$0] }, delta: 0.05), [0])
        XCTAssertEqual(LTT.fixedSequence(order: [1, 0, 2], pValue: { p[$0] }, delta: 0.05), [])
    }

    func choose(_ target: ChooseTarget, _ method: ChooseMethod, delta: Double) -> Double? {
        let i = Chooser.choose(ThetaTable(validation, thetas: grid), cost: PathCost(compute), target: target,
                               method: method, delta: delta)
        return i.map { grid[$0] }
    }

    func testNaiveChoosesCheapestThetaWithinTheValidationDrop() {
        XCTAssertEqual(choose(.maxAccuracyDrop(5), .naive, delta: 0.1), 0.9)
        XCTAssertEqual(choose(.maxAccuracyDrop(10), .naive, delta: 0.1), 0.5)
        XCTAssertEqual(choose(.maxAccuracyDrop(20), .naive, delta: 0.1), 0.0)
        // Budget 60 params: θ 0.5 (48, 60 %) and θ 0 (12, 50 %) fit; the more accurate wins.
        XCTAssertEqual(choose(.maxParamsPerInput(60), .naive, delta: 0.1), 0.5)
        XCTAssertNil(choose(.maxParamsPerInput(11), .naive, delta: 0.1))
    }

    func testLTTChoosesByHand() {
        // Drop ≤ 50 points (α = 0.5): p(0.9) = P(Bin(10, .5) ≤ 1) = 11/1024, p(0.5) = 56/1024,
        // p(0) = 386/1024. δ = 0.05 stops at 0.5; δ = 0.1 stops at 0.
        XCTAssertEqual(choose(.maxAccuracyDrop(50), .ltt, delta: 0.05), 0.9)
        XCTAssertEqual(choose(.maxAccuracyDrop(50), .ltt, delta: 0.1), 0.5)
        XCTAssertNil(choose(.maxAccuracyDrop(5), .ltt, delta: 0.1))
        // Budget 60: α' = (60 − 12)/90; θ 0 (0 non-exits) p = 0.00049, θ 0.5 (4) p = 0.298.
        XCTAssertEqual(choose(.maxParamsPerInput(60), .ltt, delta: 0.1), 0.0)
        // Budget 95: α' = 83/90; θ 0.9 (7 non-exits) p = 0.0373: with δ = 0.03 only θ 0 and 0.5
        // pass (0.5 is more accurate); with δ = 0.1 θ 0.9 passes too and is the most accurate.
        XCTAssertEqual(choose(.maxParamsPerInput(95), .ltt, delta: 0.03), 0.5)
        XCTAssertEqual(choose(.maxParamsPerInput(95), .ltt, delta: 0.1), 0.9)
    }

    func testRunReportsTestSplitAtTheValidationTheta() throws {
        let test = [ExitOutcome(label: 0, score: 0.6, sidePred: 1, mainPred: 0),
                    ExitOutcome(label: 0, score: 0.4, sidePred: 0, mainPred: 0)]
        let r = try Chooser.run(validation: validation, test: test, cost: PathCost(compute), target: .maxAccuracyDrop(10),
                                method: .naive, rule: .maxsoftmax, delta: 0.1, thetas: grid)
        XCTAssertEqual(r.theta, 0.5)
        XCTAssertEqual(r.val.accuracyPct, 60)
        XCTAssertEqual(r.test.exitRate, 0.5)
        XCTAssertEqual(r.test.accuracyPct, 50)
        XCTAssertEqual(r.test.mainnetAccuracyPct, 100)
        XCTAssertEqual(r.test.paramsPerInput, (12 + 102) / 2)
        XCTAssertTrue(r.guarantee.hasPrefix("No guarantee"))
        XCTAssertThrowsError(try Chooser.run(validation: validation, test: test, cost: PathCost(compute),
                                             target: .maxAccuracyDrop(1), method: .ltt, rule: .maxsoftmax, delta: 1))
    }

    func testExitRuleScores() {
        XCTAssertEqual(ExitRule.entropy.score(probabilities: [0.5, 0.5]), 0, accuracy: 1e-12)
        XCTAssertEqual(ExitRule.entropy.score(probabilities: [1, 0, 0]), 1, accuracy: 1e-12)
        let q = [0.7, 0.2, 0.1]
        let h = -(0.7 * log(0.7) + 0.2 * log(0.2) + 0.1 * log(0.1))
        XCTAssertEqual(ExitRule.entropy.score(probabilities: q), 1 - h / log(3), accuracy: 1e-12)
        XCTAssertEqual(ExitRule.margin.score(probabilities: q), 0.5, accuracy: 1e-12)
        XCTAssertEqual(ExitRule.maxsoftmax.score(probabilities: q), 0.7)
        // One sigmoid logit z: margin = |2σ(z) − 1|, and all rules order inputs alike.
        let zs: [Float] = [-3, -0.5, 0.2, 1.5, 4]
        let preds = zs.map { Prediction(label: 0, sidePred: 0, sideConf: max(sigmoid(Double($0)), 1 - sigmoid(Double($0))),
                                        mainPred: 0, mainConf: 0.9, sideLogits: [$0], mainLogits: [0]) }
        for (z, p) in zip(zs, preds) {
            XCTAssertEqual(ExitRule.margin.score(p)!, abs(2 * sigmoid(Double(z)) - 1), accuracy: 1e-9)
        }
        func order(_ r: ExitRule) -> [Int] { preds.indices.sorted { r.score(preds[$0])! < r.score(preds[$1])! } }
        XCTAssertEqual(order(.entropy), order(.maxsoftmax))
        XCTAssertEqual(order(.margin), order(.maxsoftmax))
    }

    func testAUROCByHand() {
        // Positive scores .9 .7 .6 vs negative .8 .6: wins 1 + 1 + 0 + 1 + 0 + ½ (tie) = 3.5 of 6.
        XCTAssertEqual(Diagnostics.auroc(scores: [0.9, 0.8, 0.7, 0.6, 0.6], positive: [true, false, true, true, false])!,
                       3.5 / 6, accuracy: 1e-12)
        XCTAssertEqual(Diagnostics.auroc(scores: [1, 2, 3], positive: [false, true, true]), 1)
        XCTAssertNil(Diagnostics.auroc(scores: [1, 2], positive: [true, true]))
    }

    func testPerClassRates() {
        let o = [ExitOutcome(label: 0, score: 0.9, sidePred: 0, mainPred: 1), ExitOutcome(label: 0, score: 0.2, sidePred: 1, mainPred: 1),
                 ExitOutcome(label: 1, score: 0.95, sidePred: 0, mainPred: 1), ExitOutcome(label: 1, score: 0.8, sidePred: 1, mainPred: 1),
                 ExitOutcome(label: 1, score: 0.1, sidePred: 0, mainPred: 1)]
        let d = Diagnostics.perClass(o, theta: 0.5, numClasses: 3)
        XCTAssertEqual(d.map(\.inputs), [2, 3, 0])
        XCTAssertEqual(d[0].exitRate, 0.5)
        XCTAssertEqual(d[0].accuracyPct, 50)       // exit right, MainNet wrong
        XCTAssertEqual(d[0].mainnetAccuracyPct, 0)
        XCTAssertEqual(d[1].exitRate, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(d[1].accuracyPct, 200.0 / 3, accuracy: 1e-9) // wrong exit, right exit, MainNet right
        XCTAssertTrue(d[2].exitRate.isNaN)
        XCTAssertEqual(Diagnostics.perClass(o, theta: nil, numClasses: 2).map(\.exitRate), [0, 0])
    }

    func testAreaAndDegenerateWarnings() {
        XCTAssertEqual(Diagnostics.normalizedArea([(12, 50), (102, 70)], lo: 12, hi: 102)!, 60, accuracy: 1e-12)
        // Flat extension on the right: (57 − 12)·(50 + 70)/2 + (102 − 57)·70 over 90.
        XCTAssertEqual(Diagnostics.normalizedArea([(12, 50), (57, 70)], lo: 12, hi: 102)!, (45 * 60 + 45 * 70) / 90, accuracy: 1e-12)
        let never = (0..<20).map { _ in ExitOutcome(label: 0, score: 0.3, sidePred: 0, mainPred: 0) }
        let always = (0..<20).map { _ in ExitOutcome(label: 0, score: 0.99, sidePred: 0, mainPred: 0) }
        let grid = ThetaGrid.standard()
        XCTAssertTrue(Diagnostics.degenerateWarning(ThetaTable(never, thetas: grid), what: "x")!.contains("nothing exits"))
        XCTAssertTrue(Diagnostics.degenerateWarning(ThetaTable(always, thetas: grid), what: "x")!.contains("everything exits"))
        XCTAssertNil(Diagnostics.degenerateWarning(ThetaTable(validation, thetas: grid), what: "x"))
    }

    func testGnuplotSingleQuoting() {
        XCTAssertEqual(gpSingle("it's `rm -rf` \"x\"\n"), "'it''s `rm -rf` \"x\"'")
    }
}
