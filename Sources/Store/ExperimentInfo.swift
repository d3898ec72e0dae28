import Foundation
import GRDB

// Migration "v5-experiment-info": what the report needs about each registered experiment, as
// plain typed columns written by the runner when it registers the experiment (from the spec's
// `paper:`, `data.synthetic` and `evaluation.ece`), so the report reads the store only and SQL
// users see labels, figures and the paper's numbers without parsing `spec_json`.
//
// Rows registered before the migration: the migration fills the table from `spec_json` with
// `legacyInfoSelect` below, and a read-only open of an older database (never migrated) derives
// the same row on read. That SELECT is the spec reading of sidenet up to v4 (label defaulting
// to the name, figure 2 for cifar10 and 4 otherwise): frozen history, like every migration.

/// `experiment_info` row: one per experiment (1:1 with `experiments`).
public struct ExperimentInfoRow: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "experiment_info"
    public var experimentId: Int64
    /// Display label (`paper.label`, else the experiment name), e.g. "ResNet18".
    public var label: String
    /// Dataset display name, e.g. "CIFAR-10".
    public var dataset: String
    /// The accuracy-vs-compute figure the experiment is drawn in (`paper.figure`).
    public var figure: Int
    /// Draw this experiment's reliability diagram (`paper.reliability`).
    public var reliability: Bool
    /// The runs used generated stand-in data (`data.synthetic`).
    public var synthetic: Bool
    /// `evaluation.ece`: `eceBins` equal bins on [eceLow, eceHigh].
    public var eceBins: Int
    public var eceLow: Double
    public var eceHigh: Double
    /// The paper's numbers (mean, std), nil where the paper prints none: Table 2 MainNet
    /// accuracy (%) with / without a SideNet, Table 1 SideNet / MainNet ECE as printed.
    public var paperTable2SidenetMean: Double?
    public var paperTable2SidenetStd: Double?
    public var paperTable2BaselineMean: Double?
    public var paperTable2BaselineStd: Double?
    public var paperTable1SidenetEceMean: Double?
    public var paperTable1SidenetEceStd: Double?
    public var paperTable1MainnetEceMean: Double?
    public var paperTable1MainnetEceStd: Double?

    enum CodingKeys: String, CodingKey {
        case experimentId = "experiment_id", label, dataset, figure, reliability, synthetic
        case eceBins = "ece_bins", eceLow = "ece_low", eceHigh = "ece_high"
        case paperTable2SidenetMean = "paper_table2_sidenet_mean", paperTable2SidenetStd = "paper_table2_sidenet_std"
        case paperTable2BaselineMean = "paper_table2_baseline_mean", paperTable2BaselineStd = "paper_table2_baseline_std"
        case paperTable1SidenetEceMean = "paper_table1_sidenet_ece_mean"
        case paperTable1SidenetEceStd = "paper_table1_sidenet_ece_std"
        case paperTable1MainnetEceMean = "paper_table1_mainnet_ece_mean"
        case paperTable1MainnetEceStd = "paper_table1_mainnet_ece_std"
    }

    /// `experimentId` is set by `registerExperiment` (0 until then).
    public init(experimentId: Int64 = 0, label: String, dataset: String, figure: Int, reliability: Bool = false,
                synthetic: Bool, eceBins: Int = 8, eceLow: Double = 0.2, eceHigh: Double = 1.0,
                paperTable2Sidenet: (mean: Double, std: Double)? = nil,
                paperTable2Baseline: (mean: Double, std: Double)? = nil,
                paperTable1SidenetECE: (mean: Double, std: Double)? = nil,
                paperTable1MainnetECE: (mean: Double, std: Double)? = nil) {
        self.experimentId = experimentId; self.label = label; self.dataset = dataset; self.figure = figure
        self.reliability = reliability; self.synthetic = synthetic
        self.eceBins = eceBins; self.eceLow = eceLow; self.eceHigh = eceHigh
        paperTable2SidenetMean = paperTable2Sidenet?.mean; paperTable2SidenetStd = paperTable2Sidenet?.std
        paperTable2BaselineMean = paperTable2Baseline?.mean; paperTable2BaselineStd = paperTable2Baseline?.std
        paperTable1SidenetEceMean = paperTable1SidenetECE?.mean; paperTable1SidenetEceStd = paperTable1SidenetECE?.std
        paperTable1MainnetEceMean = paperTable1MainnetECE?.mean; paperTable1MainnetEceStd = paperTable1MainnetECE?.std
    }

    /// Throws `StoreError.invalidExperimentInfo` naming the experiment and the column (and, for
    /// a row derived from `spec_json`, the spec field) of the first value out of range.
    func validate(experiment: String, derived: Bool) throws {
        func fail(_ column: String, _ field: String, _ detail: String) -> StoreError {
            .invalidExperimentInfo(derived ? "\(field) in experiments.spec_json of \(experiment) \(detail)"
                                           : "experiment_info.\(column) of \(experiment) \(detail)")
        }
        guard eceBins >= 1 && eceBins <= 1000 else {
            throw fail("ece_bins", "evaluation.ece.bins", "is \(eceBins) (must be 1…1000)")
        }
        guard eceLow >= 0 && eceLow < eceHigh && eceHigh <= 1 else {
            throw fail("ece_low", "evaluation.ece.low", "and high are \(eceLow), \(eceHigh) (need 0 ≤ low < high ≤ 1)")
        }
        guard figure >= 1 else { throw fail("figure", "paper.figure", "is \(figure) (must be ≥ 1)") }
    }
}

extension ResultStore {
    static let experimentInfoMigrationName = "v5-experiment-info"

    /// One row per experiment of a v1-v4 database, derived from `spec_json` (rows whose JSON is
    /// invalid are left out). Append "AND e.id = ?" to select one.
    static let legacyInfoSelect = """
        SELECT e.id AS experiment_id,
          COALESCE(json_extract(e.spec_json, '$.paper.label'), e.name) AS label,
          CASE json_extract(e.spec_json, '$.data.dataset') WHEN 'cifar10' THEN 'CIFAR-10' WHEN 'sst2' THEN 'SST-2'
            ELSE COALESCE(json_extract(e.spec_json, '$.data.dataset'), '') END AS dataset,
          COALESCE(json_extract(e.spec_json, '$.paper.figure'),
                   CASE json_extract(e.spec_json, '$.data.dataset') WHEN 'cifar10' THEN 2 ELSE 4 END) AS figure,
          COALESCE(json_extract(e.spec_json, '$.paper.reliability'), 0) AS reliability,
          COALESCE(json_extract(e.spec_json, '$.data.synthetic'), 0) AS synthetic,
          COALESCE(json_extract(e.spec_json, '$.evaluation.ece.bins'), 8) AS ece_bins,
          COALESCE(json_extract(e.spec_json, '$.evaluation.ece.low'), 0.2) AS ece_low,
          COALESCE(json_extract(e.spec_json, '$.evaluation.ece.high'), 1.0) AS ece_high,
          json_extract(e.spec_json, '$.paper.table2.sidenet.mean') AS paper_table2_sidenet_mean,
          json_extract(e.spec_json, '$.paper.table2.sidenet.std') AS paper_table2_sidenet_std,
          json_extract(e.spec_json, '$.paper.table2.baseline.mean') AS paper_table2_baseline_mean,
          json_extract(e.spec_json, '$.paper.table2.baseline.std') AS paper_table2_baseline_std,
          json_extract(e.spec_json, '$.paper.table1.sidenet_ece.mean') AS paper_table1_sidenet_ece_mean,
          json_extract(e.spec_json, '$.paper.table1.sidenet_ece.std') AS paper_table1_sidenet_ece_std,
          json_extract(e.spec_json, '$.paper.table1.mainnet_ece.mean') AS paper_table1_mainnet_ece_mean,
          json_extract(e.spec_json, '$.paper.table1.mainnet_ece.std') AS paper_table1_mainnet_ece_std
        FROM experiments e WHERE json_valid(e.spec_json)
        """

    /// Inserts the derived row of every experiment that has none (`INSERT OR IGNORE` also skips
    /// rows whose values break the table's CHECKs; the reader then names the bad field).
    static func fillLegacyInfo(_ db: Database, experimentId: Int64? = nil) throws {
        let one = experimentId == nil ? "" : " AND e.id = ?"
        try db.execute(sql: "INSERT OR IGNORE INTO experiment_info " + legacyInfoSelect + one,
                       arguments: experimentId.map { [$0] } ?? [])
    }

    /// Registers "v5-experiment-info" (after "v4-validation-predictions").
    static func registerExperimentInfoMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration(experimentInfoMigrationName) { db in
            try db.create(table: "experiment_info") { t in
                t.primaryKey("experiment_id", .integer).references("experiments", onDelete: .cascade)
                t.column("label", .text).notNull()
                t.column("dataset", .text).notNull()
                t.column("figure", .integer).notNull().check(sql: "figure >= 1")
                t.column("reliability", .boolean).notNull().check(sql: "reliability IN (0, 1)")
                t.column("synthetic", .boolean).notNull().check(sql: "synthetic IN (0, 1)")
                t.column("ece_bins", .integer).notNull().check(sql: "ece_bins BETWEEN 1 AND 1000")
                t.column("ece_low", .double).notNull()
                t.column("ece_high", .double).notNull()
                t.check(sql: "ece_low >= 0 AND ece_low < ece_high AND ece_high <= 1")
                for c in ["paper_table2_sidenet", "paper_table2_baseline", "paper_table1_sidenet_ece",
                          "paper_table1_mainnet_ece"] {
                    t.column(c + "_mean", .double)
                    t.column(c + "_std", .double)
                }
            }
            try fillLegacyInfo(db)
        }
    }

    /// What the report needs about an experiment: its `experiment_info` row, or for an
    /// experiment registered before migration v5 in a database opened read-only, the same row
    /// derived from `spec_json`. Validated; throws `invalidExperimentInfo` naming the
    /// experiment and the field.
    public func experimentInfo(_ experiment: ExperimentRow) throws -> ExperimentInfoRow {
        guard let id = experiment.id else { throw StoreError.invalidArgument("experiment without id") }
        let (row, derived) = try read { db -> (ExperimentInfoRow?, Bool) in
            if try db.tableExists(ExperimentInfoRow.databaseTableName),
               let stored = try ExperimentInfoRow.fetchOne(db, key: id) {
                return (stored, false)
            }
            return (try ExperimentInfoRow.fetchOne(db, sql: ResultStore.legacyInfoSelect + " AND e.id = ?",
                                                   arguments: [id]), true)
        }
        guard let row else {
            throw StoreError.invalidExperimentInfo("experiments.spec_json of \(experiment.name) is not valid JSON "
                + "and the experiment has no experiment_info row")
        }
        try row.validate(experiment: experiment.name, derived: derived)
        return row
    }

    /// Writes the info of a registered experiment inside a write transaction: `info` (the
    /// runner's, replacing an earlier one: these fields are not part of the spec hash), or when
    /// nil and the experiment has none yet, the row derived from its `spec_json`.
    static func writeInfo(_ db: Database, experimentId: Int64, info: ExperimentInfoRow?) throws {
        guard var info else { return try fillLegacyInfo(db, experimentId: experimentId) }
        info.experimentId = experimentId
        try info.save(db)
    }
}
