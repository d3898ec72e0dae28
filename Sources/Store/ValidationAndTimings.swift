import Foundation
import GRDB

// Migration "v4-validation-predictions": the validation split's per-example outputs of each
// finished run (same columns as `predictions`, table `validation_predictions`), so a threshold
// can be chosen without touching the test split, and `timings`: measured wall-clock seconds per
// input of real batch-compacted early exit at a few thresholds (`sidenet measure`).
// Databases written before it still open; their runs simply have no validation rows
// (`hasValidationPredictions` is false) and no timings.

/// `timings` row: one measurement of early-exit inference on the test split of a run.
public struct TimingRow: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "timings"
    public var id: Int64?
    public var runId: Int64
    /// Exit rule of the SideNet confidence ("maxsoftmax", "entropy", "margin").
    public var rule: String
    public var theta: Double
    /// Examples measured (the whole test split) and how many of them exited at the SideNet.
    public var inputs: Int
    public var exits: Int
    /// Measured wall-clock seconds per input (median of `repeats` passes over the split).
    public var secondsPerInput: Double
    /// Measured seconds per input of the MainNet alone (no SideNet) in the same session.
    public var mainnetSecondsPerInput: Double
    /// Counted cost at this theta on the same inputs (as the sweeps count it).
    public var paramsPerInput: Double
    public var flopsPerInput: Double
    /// Accuracy (fraction) of the early-exit predictions of this pass.
    public var accuracy: Double
    public var batchSize: Int
    public var threads: Int
    public var repeats: Int
    public var host: String
    public var measuredAt: String

    enum CodingKeys: String, CodingKey {
        case id, runId = "run_id", rule, theta, inputs, exits, secondsPerInput = "seconds_per_input"
        case mainnetSecondsPerInput = "mainnet_seconds_per_input"
        case paramsPerInput = "params_per_input", flopsPerInput = "flops_per_input", accuracy
        case batchSize = "batch_size", threads, repeats, host, measuredAt = "measured_at"
    }

    public init(runId: Int64, rule: String, theta: Double, inputs: Int, exits: Int, secondsPerInput: Double,
                mainnetSecondsPerInput: Double, paramsPerInput: Double, flopsPerInput: Double, accuracy: Double,
                batchSize: Int, threads: Int, repeats: Int, host: String, measuredAt: String = "") {
        self.runId = runId; self.rule = rule; self.theta = theta; self.inputs = inputs; self.exits = exits
        self.secondsPerInput = secondsPerInput; self.mainnetSecondsPerInput = mainnetSecondsPerInput
        self.paramsPerInput = paramsPerInput; self.flopsPerInput = flopsPerInput; self.accuracy = accuracy
        self.batchSize = batchSize; self.threads = threads; self.repeats = repeats; self.host = host
        self.measuredAt = measuredAt
    }
}

extension ResultStore {
    static let validationMigrationName = "v4-validation-predictions"

    /// Registers "v4-validation-predictions" (appended after every earlier migration).
    static func registerValidationMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration(validationMigrationName) { db in
            try db.create(table: "validation_predictions") { t in
                predictionColumns(t)
            }
            try db.create(table: "timings") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
                t.column("rule", .text).notNull()
                t.column("theta", .double).notNull()
                t.column("inputs", .integer).notNull()
                t.column("exits", .integer).notNull()
                t.column("seconds_per_input", .double).notNull()
                t.column("mainnet_seconds_per_input", .double).notNull()
                t.column("params_per_input", .double).notNull()
                t.column("flops_per_input", .double).notNull()
                t.column("accuracy", .double).notNull()
                t.column("batch_size", .integer).notNull()
                t.column("threads", .integer).notNull()
                t.column("repeats", .integer).notNull()
                t.column("host", .text).notNull()
                t.column("measured_at", .text).notNull()
            }
        }
    }

    /// Replaces the run's validation rows inside an open write transaction (used by `finishRun`).
    static func writeValidationPredictions(_ db: Database, runId: Int64, rows: [PredictionRow]) throws {
        try db.execute(sql: "DELETE FROM validation_predictions WHERE run_id = ?", arguments: [runId])
        for p in rows {
            try db.execute(sql: """
                INSERT INTO validation_predictions
                  (run_id, idx, label, side_pred, side_conf, main_pred, main_conf, side_logits, main_logits)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [runId, p.idx, p.label, p.sidePred, p.sideConf, p.mainPred, p.mainConf,
                                 p.sideLogits, p.mainLogits])
        }
    }

    /// Validation-split rows of a run, ordered by index (empty for runs written before
    /// "v4-validation-predictions" or never finished).
    public func validationPredictions(runId: Int64) throws -> [PredictionRow] {
        try read { db in
            // A read-only open of a database written before the migration has no such table.
            guard try db.tableExists("validation_predictions") else { return [] }
            return try PredictionRow.fetchAll(db, sql: "SELECT * FROM validation_predictions WHERE run_id = ? ORDER BY idx",
                                       arguments: [runId])
        }
    }

    /// Whether the run has validation rows (false for databases written before they existed).
    public func hasValidationPredictions(runId: Int64) throws -> Bool {
        try read { db in
            guard try db.tableExists("validation_predictions") else { return false }
            return try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM validation_predictions WHERE run_id = ?)",
                              arguments: [runId]) ?? false
        }
    }

    /// Records timings of a finished run (its earlier timings at the same rule and thetas are replaced).
    public func recordTimings(_ rows: [TimingRow]) throws {
        try write { db in
            let now = timestamp()
            for var r in rows {
                guard try RunRow.fetchOne(db, key: r.runId) != nil else { throw StoreError.unknownRun(r.runId) }
                try db.execute(sql: "DELETE FROM timings WHERE run_id = ? AND rule = ? AND theta = ?",
                               arguments: [r.runId, r.rule, r.theta])
                r.id = nil
                r.measuredAt = now
                try r.insert(db)
            }
        }
    }

    /// Timings of a run ordered by rule then theta.
    public func timings(runId: Int64) throws -> [TimingRow] {
        try read { db in
            guard try db.tableExists("timings") else { return [] }
            return try TimingRow.filter(sql: "run_id = ?", arguments: [runId]).order(sql: "rule, theta").fetchAll(db)
        }
    }
}

extension ResultStore {
    /// Creates or migrates the database at `path` only up to `migration` (inclusive): the shape
    /// of a database written by an older version. For forward-compatibility tests.
    public static func createLegacyDatabase(path: String, upTo migration: String) throws {
        let queue = try DatabaseQueue(path: path)
        try migrator.migrate(queue, upTo: migration)
    }
}
