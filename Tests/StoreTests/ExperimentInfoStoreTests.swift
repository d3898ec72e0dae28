import Foundation
import GRDB
import XCTest
import Store

/// Migration v5-experiment-info: the runner's typed `experiment_info` rows, their CHECKs, rows
/// derived from `spec_json` for databases written before it (migrated or opened read-only), and
/// `merge` carrying them.
final class ExperimentInfoStoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("info-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ p: String) -> String { dir.appendingPathComponent(p).path }

    static let info = ExperimentInfoRow(label: "VGG16", dataset: "CIFAR-10", figure: 5, reliability: true, synthetic: true,
                                        eceBins: 10, eceLow: 0, eceHigh: 1, paperTable2Sidenet: (94.0, 0.2),
                                        paperTable1MainnetECE: (0.91, 0.17))

    /// A spec as sidenet v1-v4 stored it (canonical JSON, keys sorted; abridged to what v5 reads).
    static let storedSpec = """
        {"data":{"dataset":"sst2","synthetic":true},"evaluation":{"batch_size":256,"ece":{"bins":6,"high":0.9,"low":0.3}},\
        "name":"old-bert","paper":{"figure":4,"label":"BERT-base","reliability":true,\
        "table1":{"mainnet_ece":{"mean":1,"std":0.14},"sidenet_ece":{"mean":0.38,"std":0.08}},\
        "table2":{"baseline":{"mean":90.6,"std":0.3},"sidenet":{"mean":90.5,"std":0.2}}}}
        """

    func testRegisterWritesTheRunnersRowAndReRegistrationReplacesIt() throws {
        let s = try ResultStore(path: path("a.sqlite"))
        XCTAssertEqual(try s.appliedMigrations().last, "v5-experiment-info")
        let id = try s.registerExperiment(name: "e", specJSON: "{}", specHash: "h", info: Self.info)
        let exp = try XCTUnwrap(try s.experiment(id: id))
        var want = Self.info
        want.experimentId = id
        XCTAssertEqual(try s.experimentInfo(exp), want)
        // The same spec hash with another label or other ECE bins (not hashed): the new row wins.
        var changed = Self.info
        changed.label = "VGG16-bn"
        changed.eceBins = 12
        XCTAssertEqual(try s.registerExperiment(name: "e", specJSON: "{}", specHash: "h", info: changed), id)
        XCTAssertEqual(try s.experimentInfo(exp).label, "VGG16-bn")
        XCTAssertEqual(try s.experimentInfo(exp).eceBins, 12)
        // SQL users read it without parsing spec_json.
        let q = try DatabaseQueue(path: path("a.sqlite"))
        let row = try q.read { db in
            try Row.fetchOne(db, sql: """
                SELECT e.name, i.label, i.figure, i.ece_bins, i.synthetic, i.paper_table2_sidenet_mean, i.paper_table2_baseline_mean
                FROM experiments e JOIN experiment_info i ON i.experiment_id = e.id
                """)
        }
        let r = try XCTUnwrap(row)
        XCTAssertEqual(r["label"] as String, "VGG16-bn")
        XCTAssertEqual(r["figure"] as Int, 5)
        XCTAssertEqual(r["synthetic"] as Bool, true)
        XCTAssertEqual(r["paper_table2_sidenet_mean"] as Double, 94.0)
        XCTAssertNil(r["paper_table2_baseline_mean"] as Double?)
    }

    func testChecksRefuseInfoTheReportCannotUse() throws {
        let s = try ResultStore(path: path("c.sqlite"))
        for bad in [ExperimentInfoRow(label: "x", dataset: "d", figure: 2, synthetic: false, eceBins: 0),
                    ExperimentInfoRow(label: "x", dataset: "d", figure: 2, synthetic: false, eceLow: 0.9, eceHigh: 0.5),
                    ExperimentInfoRow(label: "x", dataset: "d", figure: 0, synthetic: false)] {
            XCTAssertThrowsError(try s.registerExperiment(name: "bad", specJSON: "{}", specHash: "h", info: bad)) { e in
                XCTAssertTrue("\(e)".contains("CHECK constraint failed"), "\(e)")
            }
        }
        XCTAssertEqual(try s.experiments(), [], "the whole registration rolled back")
    }

    /// A database written by v4 (the earlier migrations' SQL), read-only and then migrated.
    func testOlderDatabaseGetsRowsDerivedFromSpecJSON() throws {
        let p = path("old.sqlite")
        try ResultStore.createLegacyDatabase(path: p, upTo: "v4-validation-predictions")
        let q = try DatabaseQueue(path: p)
        try q.write { db in
            for (name, json) in [("old-bert", Self.storedSpec),
                                 ("no-paper", #"{"data":{"dataset":"cifar10","synthetic":false},"name":"no-paper"}"#),
                                 ("broken", "{not json")] {
                try db.execute(sql: "INSERT INTO experiments (name, spec_json, spec_hash, created_at) VALUES (?, ?, 'h', 't')",
                               arguments: [name, json])
            }
        }
        try q.close()
        let bert = ExperimentInfoRow(experimentId: 1, label: "BERT-base", dataset: "SST-2", figure: 4, reliability: true,
                                     synthetic: true, eceBins: 6, eceLow: 0.3, eceHigh: 0.9,
                                     paperTable2Sidenet: (90.5, 0.2), paperTable2Baseline: (90.6, 0.3),
                                     paperTable1SidenetECE: (0.38, 0.08), paperTable1MainnetECE: (1, 0.14))
        let plain = ExperimentInfoRow(experimentId: 2, label: "no-paper", dataset: "CIFAR-10", figure: 2, synthetic: false)
        for readOnly in [true, false] {
            let s = try ResultStore(path: p, readOnly: readOnly)
            XCTAssertEqual(try s.appliedMigrations().contains("v5-experiment-info"), !readOnly)
            let exps = try s.experiments()
            XCTAssertEqual(try s.experimentInfo(exps[0]), bert, "readOnly \(readOnly)")
            XCTAssertEqual(try s.experimentInfo(exps[1]), plain, "readOnly \(readOnly)")
            XCTAssertThrowsError(try s.experimentInfo(exps[2])) { e in
                XCTAssertEqual("\(e)", "store: experiments.spec_json of broken is not valid JSON and the experiment has no experiment_info row")
            }
        }
        // The migration wrote the rows (SQL users see them); the broken spec has none.
        let ids = try DatabaseQueue(path: p).read { db in try Int64.fetchAll(db, sql: "SELECT experiment_id FROM experiment_info") }
        XCTAssertEqual(ids, [1, 2])
    }

    func testEditedSpecJSONOutOfRangeIsNamed() throws {
        let s = try ResultStore(path: path("e.sqlite"))
        let id = try s.registerExperiment(name: "odd", specJSON: #"{"evaluation":{"ece":{"bins":0,"high":1,"low":0.2}}}"#,
                                          specHash: "h")
        let exp = try XCTUnwrap(try s.experiment(id: id))
        XCTAssertThrowsError(try s.experimentInfo(exp)) { e in
            XCTAssertEqual("\(e)", "store: evaluation.ece.bins in experiments.spec_json of odd is 0 (must be 1…1000)")
        }
    }

    func testMergeCarriesInfoRowsAndDerivesThemForOlderSources() throws {
        let new = try ResultStore(path: path("new.sqlite"))
        try new.registerExperiment(name: "vgg", specJSON: "{}", specHash: "h1", info: Self.info)
        let old = path("old.sqlite")
        try ResultStore.createLegacyDatabase(path: old, upTo: "v4-validation-predictions")
        let q = try DatabaseQueue(path: old)
        try q.write { db in
            try db.execute(sql: "INSERT INTO experiments (name, spec_json, spec_hash, created_at) VALUES ('old-bert', ?, 'h2', 't')",
                           arguments: [Self.storedSpec])
        }
        try q.close()
        let all = try ResultStore(path: path("all.sqlite"))
        let report = try all.merge(sources: [path("new.sqlite"), old])
        XCTAssertEqual(report.sources.map(\.experimentsAdded), [1, 1])
        let infos = try all.experiments().map { try all.experimentInfo($0) }
        XCTAssertEqual(infos.map(\.label), ["VGG16", "BERT-base"])
        XCTAssertEqual(infos.map(\.figure), [5, 4])
        XCTAssertEqual(infos.map(\.eceBins), [10, 6])
        XCTAssertEqual(infos[0].paperTable1MainnetEceMean, 0.91)
        // Stored rows, not derived on read.
        let n = try DatabaseQueue(path: path("all.sqlite")).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM experiment_info") }
        XCTAssertEqual(n, 2)
    }
}
