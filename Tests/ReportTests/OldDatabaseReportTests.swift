import Foundation
import GRDB
import XCTest
import Report
import Specs
import Store

/// A database written before migration v5-experiment-info (built with the earlier migrations'
/// SQL, rows inserted as sidenet v4 wrote them) still reports: read-only (rows derived from
/// `spec_json` on read) and after a writable open migrates it (rows stored by the migration).
final class OldDatabaseReportTests: XCTestCase {
    func testV4DatabaseReportsBeforeAndAfterMigration() throws {
        let dir = tempDir("old-db")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v4.sqlite").path
        try ResultStore.createLegacyDatabase(path: path, upTo: "v4-validation-predictions")
        let spec = try StoreFixture.spec(name: "old-exp", label: "OldNet", paperExtra: "  reliability: true",
                                         evaluation: "{ece: {bins: 5, low: 0.5, high: 1.0}, batch_size: 256}")
        let preds = StoreReaderTests.handBuilt()
        let q = try DatabaseQueue(path: path)
        try q.write { db in
            try db.execute(sql: "INSERT INTO experiments (name, spec_json, spec_hash, created_at) VALUES (?, ?, ?, 't')",
                           arguments: [spec.name, spec.canonicalJSON(), spec.specHash])
            try db.execute(sql: """
                INSERT INTO runs (experiment_id, variant, seed, status, num_classes, params_prefix, params_sidenet,
                  params_mainnet, flops_prefix, flops_sidenet, flops_mainnet, test_acc_main, test_acc_side, attempts)
                VALUES (1, 'sidenet', 0, 'finished', 10, 1000, 100, 10000, 2000, 200, 20000, 0.7, 0.7, 1)
                """)
            for (i, p) in preds.enumerated() {
                try PredictionRow(runId: 1, idx: i, label: p.label, sidePred: p.sidePred, sideConf: p.sideConf,
                                  mainPred: p.mainPred, mainConf: p.mainConf, sideLogits: p.sideLogits,
                                  mainLogits: p.mainLogits).insert(db)
            }
        }
        try q.close()

        var infos = [ExperimentInfo]()
        for readOnly in [true, false] {
            let store = try ResultStore(path: path, readOnly: readOnly)
            XCTAssertEqual(try store.appliedMigrations().contains("v5-experiment-info"), !readOnly)
            let loaded = try StoreReader.load(store)
            XCTAssertEqual(loaded.runs.count, 1)
            infos += loaded.experiments
            let plots = dir.appendingPathComponent("plots-\(readOnly)")
            let summary = try ReportWriter.write(runs: loaded.runs, experiments: loaded.experiments, expected: [],
                                                 plotsDir: plots, tablesDir: dir.appendingPathComponent("t-\(readOnly)"),
                                                 render: false)
            let names = Set(summary.written.map(\.lastPathComponent))
            XCTAssertTrue(names.isSuperset(of: ["figure2_params.gp", "figure3_reliability.gp", "table1.csv"]), "\(names)")
            // SideNet over 5 bins on [0.5, 1]: [0.5,0.6) holds 0.15, 0.1, 0.25, 0.55 x2 (acc 3/5,
            // conf 0.32); [0.9,1] holds 0.95 x4 and 1.0 (acc 0.8, conf 0.96): ECE 0.5·0.28 + 0.5·0.16.
            let t1 = parseCSV(summary.report.table1().csv())
            let col = try XCTUnwrap(t1[0].firstIndex(of: "sidenet_ece_pct_mean"))
            XCTAssertEqual(Double(t1[1][col])!, 22, accuracy: 1e-9, "readOnly \(readOnly)")
        }
        XCTAssertEqual(infos[0], infos[1])
        XCTAssertEqual(infos[0], ExperimentInfo(name: "old-exp", label: "OldNet", figure: 2, synthetic: true,
                                                paper: PaperNumbers(), ece: ECEBins(bins: 5, low: 0.5, high: 1.0),
                                                reliability: true, dataset: "CIFAR-10"))
    }
}
