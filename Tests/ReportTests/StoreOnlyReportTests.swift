import Foundation
import XCTest
import Report
import Store

/// Issue 10 item 4: the report reads only the store. A database written with plain store
/// records (no spec anywhere in this file) reports correctly: the figure a record declares is
/// drawn under its number, its ECE bins are the ones used, its paper numbers and synthetic flag
/// reach the tables.
final class StoreOnlyReportTests: XCTestCase {
    /// 40 SideNet confidences away from every tenth (0.05 … 0.956) with a fixed right/wrong
    /// pattern; the MainNet is confident and right on most.
    static func predictions(side: Bool) -> [Prediction] {
        (0..<40).map { i in
            let conf = 0.05 + 0.1 * Double(i % 10) + 0.002 * Double(i / 10)
            // Confidence ~0.15 always wrong, ~0.05 mostly right: merging them (the paper's 8
            // bins start at 0.2) changes the ECE.
            let right = i % 10 != 1 && (i * 7) % 3 != 0
            return Prediction(label: 1, sidePred: side ? (right ? 1 : 0) : nil, sideConf: side ? conf : nil,
                              mainPred: i % 5 == 0 ? 0 : 1, mainConf: 0.93,
                              sideLogits: side ? [0, 1] : nil, mainLogits: [0, 1])
        }
    }

    /// Weighted ECE (%) over `bins` equal bins on [0, 1], written out here independently of the
    /// report (no confidence lies on an edge).
    static func ece(_ ps: [Prediction], bins: Int) -> Double {
        var n = [Int](repeating: 0, count: bins), ok = n, conf = [Double](repeating: 0, count: bins)
        for p in ps {
            let b = min(bins - 1, Int(p.sideConf! * Double(bins)))
            n[b] += 1
            conf[b] += p.sideConf!
            if p.sidePred == p.label { ok[b] += 1 }
        }
        var e = 0.0
        for b in 0..<bins where n[b] > 0 {
            e += Double(n[b]) / Double(ps.count) * abs(Double(ok[b]) / Double(n[b]) - conf[b] / Double(n[b]))
        }
        return 100 * e
    }

    func write(_ store: ResultStore, name: String, info: ExperimentInfoRow) throws {
        let id = try store.registerExperiment(name: name, specJSON: "{}", specHash: "plain", info: info)
        for variant in RunVariant.allCases {
            guard case let .claimed(runId, _) = try store.claimRun(
                experimentId: id, variant: variant, seed: 3, host: "test", threads: 1, gitCommit: nil,
                regime: "full") else { return XCTFail("not claimed") }
            let rows = Self.predictions(side: variant == .sidenet).enumerated().map { i, p in
                PredictionRow(runId: runId, idx: i, label: p.label, sidePred: p.sidePred, sideConf: p.sideConf,
                              mainPred: p.mainPred, mainConf: p.mainConf, sideLogits: p.sideLogits, mainLogits: p.mainLogits)
            }
            try store.finishRun(runId: runId, predictions: rows, summary: RunSummary(
                numClasses: 2, paramsPrefix: 1_000, paramsSidenet: 100, paramsMainnet: 10_000, flopsPrefix: 2_000,
                flopsSidenet: 200, flopsMainnet: 20_000, bestEpoch: 0, testAccMain: 0.8,
                testAccSide: variant == .sidenet ? 0.5 : nil))
        }
    }

    func column(_ csv: String, _ name: String) throws -> String {
        let rows = parseCSV(csv)
        return rows[1][try XCTUnwrap(rows[0].firstIndex(of: name), "no column \(name)")]
    }

    func testPlainStoreRecordsReportWithTheirFigureBinsAndPaperNumbers() throws {
        let dir = tempDir("store-only")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ResultStore(path: dir.appendingPathComponent("db.sqlite").path)
        try write(store, name: "vgg-exp", info: ExperimentInfoRow(
            label: "VGG16", dataset: "CIFAR-10", figure: 5, reliability: true, synthetic: false,
            eceBins: 10, eceLow: 0, eceHigh: 1, paperTable2Sidenet: (93.5, 0.25), paperTable2Baseline: (93.1, 0.5),
            paperTable1SidenetECE: (0.4, 0.1), paperTable1MainnetECE: (0.9, 0.2)))
        let loaded = try StoreReader.load(try ResultStore(path: store.path, readOnly: true))
        XCTAssertEqual(loaded.experiments, [ExperimentInfo(
            name: "vgg-exp", label: "VGG16", figure: 5, synthetic: false,
            paper: PaperNumbers(table2SideNet: MeanStd(mean: 93.5, std: 0.25), table2Baseline: MeanStd(mean: 93.1, std: 0.5),
                                table1SideNetECE: MeanStd(mean: 0.4, std: 0.1), table1MainNetECE: MeanStd(mean: 0.9, std: 0.2)),
            ece: ECEBins(bins: 10, low: 0, high: 1), reliability: true, dataset: "CIFAR-10")])
        let plots = dir.appendingPathComponent("plots"), tables = dir.appendingPathComponent("tables")
        let summary = try ReportWriter.write(runs: loaded.runs, experiments: loaded.experiments, expected: loaded.expected,
                                             plotsDir: plots, tablesDir: tables, render: false)
        let names = Set(summary.written.map(\.lastPathComponent))
        for f in ["figure5_params.gp", "figure5_flops.gp", "figure5_sidenet.dat", "figure5_baseline.dat",
                  "figure3_reliability.gp", "figure3_reliability.dat"] {
            XCTAssertTrue(names.contains(f), "\(f) not written: \(names.sorted())")
        }
        XCTAssertFalse(names.contains { $0.hasPrefix("figure2_") || $0.hasPrefix("figure4_") }, "\(names.sorted())")
        XCTAssertEqual(summary.missing, [])

        // Table 1: the 10-bin ECE, recomputed above; it differs from the paper's default 8 bins.
        let t1 = try String(contentsOf: tables.appendingPathComponent("table1.csv"), encoding: .utf8)
        let want10 = Self.ece(Self.predictions(side: true), bins: 10)
        let got = try XCTUnwrap(Double(try column(t1, "sidenet_ece_pct_mean")))
        XCTAssertEqual(got, want10, accuracy: 1e-9)
        let side = Self.predictions(side: true)
        let paper8 = try calibration(confidences: side.map { $0.sideConf! }, correct: side.map { $0.sidePred == $0.label },
                                     scheme: .paper8)
        XCTAssertGreaterThan(abs(paper8.ecePercent - want10), 1, "the case cannot tell the default bins apart")
        XCTAssertEqual(try column(t1, "ece_bins"), "paper10_0-1")
        XCTAssertEqual(try column(t1, "paper_sidenet_ece_pct_mean"), "0.4")
        let dat = try String(contentsOf: plots.appendingPathComponent("figure3_reliability.dat"), encoding: .utf8)
        XCTAssertEqual(dat.split(separator: "\n").filter { !$0.hasPrefix("#") }.count, 10)

        // Table 2: the paper's numbers and the synthetic flag from the record.
        let t2 = try String(contentsOf: tables.appendingPathComponent("table2.csv"), encoding: .utf8)
        XCTAssertEqual(try column(t2, "model"), "VGG16")
        XCTAssertEqual(try column(t2, "dataset"), "CIFAR-10")
        XCTAssertEqual(try column(t2, "paper_with_sidenet_acc_pct_mean"), "93.5")
        XCTAssertEqual(try column(t2, "paper_no_sidenet_acc_pct_std"), "0.5")
        XCTAssertEqual(try column(t2, "synthetic"), "false")
        let md = try String(contentsOf: tables.appendingPathComponent("table2.md"), encoding: .utf8)
        XCTAssertFalse(md.contains("synthetic"), md)
    }

    func testSyntheticRecordIsLabelledAndUnknownNamesAreMissing() throws {
        let dir = tempDir("store-only-synth")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ResultStore(path: dir.appendingPathComponent("db.sqlite").path)
        try write(store, name: "demo", info: ExperimentInfoRow(label: "Tiny", dataset: "SST-2", figure: 4, synthetic: true))
        let loaded = try StoreReader.load(store, names: ["demo", "absent"])
        XCTAssertEqual(loaded.unknown, ["absent"])
        let report = try Report.build(runs: loaded.runs, experiments: loaded.experiments, expected: loaded.expected)
        XCTAssertEqual(report.missing, ["absent (sidenet)", "absent (baseline)"])
        XCTAssertTrue(report.table2().markdown().contains("synthetic stand-in data"))
        let gp = try XCTUnwrap(report.figureFiles().files.first { $0.name == "figure4_params.gp" }).contents
        XCTAssertTrue(gp.contains("SST-2: test accuracy vs average parameters per input — synthetic stand-in data"), gp)
    }

    /// A hostile label in `experiment_info` (as the runner or an SQL edit writes it) stays a
    /// literal: gnuplot runs nothing.
    func testHostileLabelInTheInfoRowRunsNothing() throws {
        guard Gnuplot.executable() != nil else { throw XCTSkip("gnuplot not on PATH") }
        let dir = tempDir("store-only-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("PWNED").path
        let label = "V`touch \(marker)`GG' . system(\"touch \(marker)\") . '\n"
        let store = try ResultStore(path: dir.appendingPathComponent("db.sqlite").path)
        try write(store, name: "h", info: ExperimentInfoRow(label: label, dataset: "x", figure: 6, reliability: true,
                                                            synthetic: false))
        let loaded = try StoreReader.load(store)
        let summary = try ReportWriter.write(runs: loaded.runs, experiments: loaded.experiments, expected: [],
                                             plotsDir: dir.appendingPathComponent("plots"),
                                             tablesDir: dir.appendingPathComponent("tables"), render: true)
        XCTAssertTrue(summary.rendered)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("plots/figure6_params.png").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a label from experiment_info ran a command")
    }
}
