import Foundation
import XCTest
import Report
import Specs
import Store

/// The report's database reader (`StoreReader.load`) and what the report computes from a real
/// database written through `ResultStore`.
final class StoreReaderTests: XCTestCase {
    /// Ten predictions whose calibration is worked out by hand in `testGapSumAndECE...`:
    /// SideNet confidences 0.15 ✓, 0.1 ✗ (both below 0.2), 0.25 ✓, 0.55 ✗, 0.55 ✓,
    /// 0.95 ✓✓✓✗, 1.0 ✓; MainNet confidence 0.65 on all, 7 correct.
    static func handBuilt() -> [Prediction] {
        let side: [(Double, Bool)] = [(0.15, true), (0.1, false), (0.25, true), (0.55, false), (0.55, true),
                                      (0.95, true), (0.95, true), (0.95, true), (0.95, false), (1.0, true)]
        return side.enumerated().map { i, s in
            Prediction(label: 2, sidePred: s.1 ? 2 : 7, sideConf: s.0, mainPred: i < 7 ? 2 : 4, mainConf: 0.65,
                       sideLogits: logits(pred: s.1 ? 2 : 7, conf: max(s.0, 0.11), classes: 10),
                       mainLogits: logits(pred: i < 7 ? 2 : 4, conf: 0.65, classes: 10))
        }
    }

    func csvColumn(_ csv: String, _ name: String, row: Int = 1) -> String {
        let rows = parseCSV(csv)
        guard let c = rows[0].firstIndex(of: name) else { XCTFail("no column \(name) in \(rows[0])"); return "" }
        return rows[row][c]
    }

    func testLoadFinishedRunsOfNewestRegistrationAndUnknownNames() throws {
        let f = try StoreFixture("reader")
        defer { f.cleanup() }
        let old = try f.register(StoreFixture.spec(name: "exp-a", label: "OldLabel", epochs: 1))
        try f.finish(old, .sidenet, seed: 0, predictions: Array(Self.handBuilt().prefix(4)))
        // A second registration of the same name (a changed spec): only its runs count.
        let new = try f.register(StoreFixture.spec(name: "exp-a", label: "NewLabel", epochs: 2))
        XCTAssertNotEqual(old, new)
        try f.finish(new, .sidenet, seed: 0, predictions: Self.handBuilt())
        try f.leaveRunning(new, .sidenet, seed: 1)       // unfinished: not reported
        try f.finish(new, .baseline, seed: 1, predictions: Self.handBuilt().map {
            var p = $0; p.sidePred = nil; p.sideConf = nil; p.sideLogits = nil; return p })
        let failed = try f.leaveRunning(new, .baseline, seed: 0)
        try f.store.failRun(runId: failed, reason: "test")  // failed: not reported

        let loaded = try StoreReader.load(f.store, names: ["exp-a", "no-such-experiment"])
        XCTAssertEqual(loaded.experiments.map(\.label), ["NewLabel"])
        XCTAssertEqual(loaded.unknown, ["no-such-experiment"])
        XCTAssertEqual(loaded.runs.count, 2, "\(loaded.runs.map { ($0.variant, $0.seed) })")
        let side = try XCTUnwrap(loaded.runs.first { $0.variant == .sidenet })
        XCTAssertEqual(side.seed, 0)
        XCTAssertEqual(side.predictions.count, 10, "runs of the older registration leaked in")
        XCTAssertEqual(side.predictions.map(\.sideConf), Self.handBuilt().map(\.sideConf))
        XCTAssertEqual(loaded.runs.first { $0.variant == .baseline }?.seed, 1)
        XCTAssertEqual(side.compute, Compute(paramsPrefix: 1_000, paramsSideNet: 100, paramsMainNet: 10_000,
                                             flopsPrefix: 2_000, flopsSideNet: 200, flopsMainNet: 20_000))
        let expected = loaded.expected.map { "\($0.experiment)/\($0.variant.rawValue)" }
        XCTAssertEqual(Set(expected), ["exp-a/sidenet", "exp-a/baseline",
                                       "no-such-experiment/sidenet", "no-such-experiment/baseline"])

        // No names: every experiment in the database, once.
        let all = try StoreReader.load(f.store)
        XCTAssertEqual(all.experiments.map(\.name), ["exp-a"])
        XCTAssertEqual(all.unknown, [])
        // The report names what is missing: seed 1 of the SideNet variant is still running.
        let r = try Report.build(runs: loaded.runs, experiments: loaded.experiments, expected: loaded.expected)
        XCTAssertTrue(r.missing.contains("no-such-experiment (sidenet)"), "\(r.missing)")
        XCTAssertEqual(r.experiments[0].sweeps.map(\.seed), [0])
    }

    func testEditedSpecJSONIsRefusedNamingTheExperiment() throws {
        let f = try StoreFixture("badspec")
        defer { f.cleanup() }
        let spec = try StoreFixture.spec(name: "exp-b")
        let json = spec.canonicalJSON()
        XCTAssertTrue(json.contains("\"bins\":8"), json)
        try f.store.registerExperiment(name: "exp-b", specJSON: json.replacingOccurrences(of: "\"bins\":8", with: "\"bins\":0"),
                                       specHash: "edited")
        XCTAssertThrowsError(try StoreReader.load(f.store)) { e in
            XCTAssertTrue("\(e)".contains("exp-b"), "\(e)")
            XCTAssertTrue("\(e)".contains("evaluation.ece.bins"), "\(e)")
        }
        try f.store.registerExperiment(name: "exp-c", specJSON: "{not json", specHash: "x")
        XCTAssertThrowsError(try StoreReader.load(f.store, names: ["exp-c"])) { e in
            XCTAssertTrue("\(e)".contains("experiments.spec_json of exp-c"), "\(e)")
        }
    }

    /// Issue 16 item 4: the sweep at θ = 0 is the SideNet alone and at θ = 1 the MainNet alone
    /// (no confidence here is exactly 1), equal to the accuracies stored for each run.
    func testSweepEndsEqualStoredAccuracies() throws {
        let f = try StoreFixture("ends")
        defer { f.cleanup() }
        let id = try f.register(StoreFixture.spec(name: "exp-d"))
        for seed in [0, 1] {
            let run = syntheticRun(experiment: "exp-d", variant: .sidenet, seed: seed, n: 300, classes: 10,
                                   compute: resnetCompute(params: 11_181_642, gflops: 0.56), sideSkill: 0.1)
            XCTAssertTrue(run.predictions.allSatisfy { $0.sideConf! < 1 })
            try f.finish(id, .sidenet, seed: seed, predictions: run.predictions)
        }
        let loaded = try StoreReader.load(f.store)
        let report = try Report.build(runs: loaded.runs, experiments: loaded.experiments, expected: [])
        let stored = try f.store.runs(experiment: id)
        XCTAssertEqual(report.experiments[0].sweeps.count, 2)
        for s in report.experiments[0].sweeps {
            let row = try XCTUnwrap(stored.first { $0.seed == s.seed })
            let first = try XCTUnwrap(s.points.first), last = try XCTUnwrap(s.points.last)
            XCTAssertEqual(first.theta, 0)
            XCTAssertEqual(last.theta, 1)
            XCTAssertEqual(first.fractionSide, 1)
            XCTAssertEqual(last.fractionSide, 0)
            XCTAssertEqual(first.accuracy, 100 * row.testAccSide!, accuracy: 1e-9)
            XCTAssertEqual(last.accuracy, 100 * row.testAccMain!, accuracy: 1e-9)
            XCTAssertNotEqual(row.testAccSide!, row.testAccMain!, "the case cannot tell the heads apart")
        }
    }

    /// Issue 15 item 4: weighted ECE and unweighted gap sum recomputed by hand from stored
    /// predictions, with an empty bin and confidences below 0.2.
    func testGapSumAndECEFromStoredPredictions() throws {
        let f = try StoreFixture("gap")
        defer { f.cleanup() }
        let id = try f.register(StoreFixture.spec(name: "exp-e"))
        for seed in [0, 1] { try f.finish(id, .sidenet, seed: seed, predictions: Self.handBuilt()) }
        let loaded = try StoreReader.load(f.store)
        let report = try Report.build(runs: loaded.runs, experiments: loaded.experiments, expected: [])
        // SideNet, paper's 8 bins: [0.2,0.3) holds 0.15, 0.1, 0.25 (acc 2/3, conf 1/6, gap 0.5);
        // [0.5,0.6) holds 0.55 x2 (acc 0.5, conf 0.55, gap 0.05); [0.9,1] holds 0.95 x4, 1.0
        // (acc 0.8, conf 0.96, gap 0.16); [0.3,0.4) and four others are empty.
        // ECE = 0.3 * 0.5 + 0.2 * 0.05 + 0.5 * 0.16 = 0.24; gap sum = 0.71.
        // MainNet: one bin [0.6,0.7), acc 0.7, conf 0.65: ECE 0.05, gap sum 0.05.
        let t1 = report.table1().csv()
        XCTAssertEqual(Double(csvColumn(t1, "sidenet_ece_pct_mean"))!, 24, accuracy: 1e-9)
        XCTAssertEqual(Double(csvColumn(t1, "sidenet_bin_gap_sum_mean"))!, 0.71, accuracy: 1e-12)
        XCTAssertEqual(Double(csvColumn(t1, "sidenet_bin_gap_sum_std"))!, 0, accuracy: 1e-12)
        XCTAssertEqual(Double(csvColumn(t1, "mainnet_ece_pct_mean"))!, 5, accuracy: 1e-9)
        XCTAssertEqual(Double(csvColumn(t1, "mainnet_bin_gap_sum_mean"))!, 0.05, accuracy: 1e-12)
        XCTAssertEqual(Double(csvColumn(t1, "mainnet_bin_gap_sum_std"))!, 0, accuracy: 1e-12)
        XCTAssertEqual(csvColumn(t1, "sidenet_below_0_2"), "4")
        let md = report.table1().markdown()
        XCTAssertTrue(md.contains("| 24.00 ± 0.00 | — | 0.71 ± 0.00 | 5.00 ± 0.00 | — | 0.05 ± 0.00 |"), md)
        XCTAssertTrue(md.contains("Reading: the paper's Table 1 values match in size the unweighted gap sum"), md)
        XCTAssertTrue(md.contains("ours is 0.1 for the gap sum; 0.2 for the weighted ECE"), md)

        let cal = parseCSV(report.calibrationCSV(report.experiments[0]))
        let h = cal[0]
        func col(_ n: String) -> Int { h.firstIndex(of: n)! }
        for seed in ["0", "1", "mean"] {
            let all = try XCTUnwrap(cal.first { $0[0] == "sidenet" && $0[1] == "paper8" && $0[2] == seed && $0[3] == "all" })
            XCTAssertEqual(Double(all[col("bin_gap_sum")])!, 0.71, accuracy: 1e-12, seed)
            XCTAssertEqual(Double(all[col("ece_pct")])!, 24, accuracy: 1e-9, seed)
            let main = try XCTUnwrap(cal.first { $0[0] == "mainnet" && $0[1] == "paper8" && $0[2] == seed && $0[3] == "all" })
            XCTAssertEqual(Double(main[col("bin_gap_sum")])!, 0.05, accuracy: 1e-12, seed)
        }
        let empty = try XCTUnwrap(cal.first { $0[0] == "sidenet" && $0[1] == "paper8" && $0[2] == "0" && $0[3] == "1" })
        XCTAssertEqual(empty[col("count")], "0")
        XCTAssertEqual(empty[col("accuracy_pct")], "")
    }

    /// Issue 9 item 4: `evaluation.ece` sets the bins of Table 1, the calibration CSV and
    /// Figure 3 (four bins on [0.5, 0.9], worked out below), and `paper.reliability` draws
    /// Figure 3 for an experiment whatever its label.
    func testSpecECEBinsAreTheOnesUsed() throws {
        let f = try StoreFixture("ecebins")
        defer { f.cleanup() }
        let spec = try StoreFixture.spec(name: "exp-f", label: "Odd", paperExtra: "  reliability: true",
                                         evaluation: "{ece: {bins: 4, low: 0.5, high: 0.9}, batch_size: 256}")
        let id = try f.register(spec)
        try f.finish(id, .sidenet, seed: 0, predictions: Self.handBuilt())
        let loaded = try StoreReader.load(f.store)
        XCTAssertEqual(loaded.experiments[0].ece, ECEBins(bins: 4, low: 0.5, high: 0.9))
        XCTAssertTrue(loaded.experiments[0].reliability)
        let report = try Report.build(runs: loaded.runs, experiments: loaded.experiments, expected: [])
        // SideNet, bins [0.5,0.6) [0.6,0.7) [0.7,0.8) [0.8,0.9]: the first holds 0.15, 0.1, 0.25
        // (below 0.5, merged) and 0.55 x2: acc 3/5, conf 0.32, gap 0.28; the last holds 0.95 x4
        // and 1.0 (above 0.9, merged): acc 0.8, conf 0.96, gap 0.16. ECE 0.22, gap sum 0.44.
        let t1 = report.table1().csv()
        XCTAssertEqual(Double(csvColumn(t1, "sidenet_ece_pct_mean"))!, 22, accuracy: 1e-9)
        XCTAssertEqual(Double(csvColumn(t1, "sidenet_bin_gap_sum_mean"))!, 0.44, accuracy: 1e-12)
        XCTAssertEqual(csvColumn(t1, "ece_bins"), "paper4_0.5-0.9")
        XCTAssertEqual(csvColumn(t1, "sidenet_below_0_2"), "3")
        XCTAssertEqual(csvColumn(t1, "sidenet_above_high"), "5")
        XCTAssertTrue(report.table1().markdown().contains("4 equal bins on [0.5, 0.9]"))
        let cal = parseCSV(report.calibrationCSV(report.experiments[0]))
        let binRows = cal.filter { $0[0] == "sidenet" && $0[1] == "paper4_0.5-0.9" && $0[2] == "0" && $0[3] != "all" }
        XCTAssertEqual(binRows.map { $0[4] }, ["0.5", "0.6", "0.7", "0.8"])
        XCTAssertEqual(binRows.map { $0[5] }, ["0.6", "0.7", "0.8", "0.9"])
        XCTAssertFalse(cal.contains { $0[1] == "paper8" }, "the default bins are still computed")
        let figs = report.figureFiles()
        let gp = try XCTUnwrap(figs.files.first { $0.name == "figure3_reliability.gp" }).contents
        XCTAssertTrue(gp.contains("set xrange [50:90]"), gp)
        XCTAssertTrue(gp.contains("4 equal bins on [0.5, 0.9]"), gp)
        XCTAssertTrue(gp.contains("unweighted bin gap sum: SideNet 0.44 ± 0.00"), gp)
        let dat = try XCTUnwrap(figs.files.first { $0.name == "figure3_reliability.dat" }).contents
        XCTAssertEqual(dat.split(separator: "\n").filter { !$0.hasPrefix("#") }.count, 4)
    }
}
