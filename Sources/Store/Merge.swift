import Foundation
import GRDB

/// What `ResultStore.merge` did, source by source.
public struct MergeReport: Equatable, Sendable {
    public struct Source: Equatable, Sendable {
        public var path: String
        public var experimentsAdded = 0
        /// Runs new to the destination.
        public var runsAdded = 0
        /// Unfinished destination runs overwritten by a finished (or further) copy.
        public var runsReplaced = 0
        /// Runs the destination already held as well (identical, or a better copy).
        public var runsUnchanged = 0
        /// One line per added or replaced run: "+ name variant seed N (status)".
        public var changes: [String] = []
    }
    public var sources: [Source] = []
    /// True when nothing was added or replaced.
    public var isNoOp: Bool { sources.allSatisfy { $0.experimentsAdded == 0 && $0.runsAdded == 0 && $0.runsReplaced == 0 } }
}

/// Merge refusals; the whole merge is rolled back.
public enum MergeError: Error, CustomStringConvertible, Equatable {
    case sourceMissing(String)
    case sameAsDestination(String)
    case unreadable(path: String, reason: String)
    case newerSchema(path: String, migrations: [String])
    /// Two finished copies of one run whose results differ.
    case conflict(run: String, first: String, second: String, detail: String)

    public var description: String {
        switch self {
        case .sourceMissing(let p): return "merge: source database not found: \(p)"
        case .sameAsDestination(let p): return "merge: \(p) is the destination itself"
        case .unreadable(let p, let r): return "merge: \(p) is not a sidenet results database: \(r)"
        case .newerSchema(let p, let m):
            return "merge: \(p) has migrations this sidenet does not know (\(m.joined(separator: ", "))); merge with a newer sidenet"
        case .conflict(let run, let a, let b, let d):
            return "merge: refused: \(run) finished in both \(a) and \(b) with different results (\(d)); remove one copy and merge again"
        }
    }
}

/// Result columns that must agree between two finished copies of a run.
private let resultColumns = ["num_classes", "params_prefix", "params_sidenet", "params_mainnet", "flops_prefix",
                             "flops_sidenet", "flops_mainnet", "best_epoch", "test_acc_main", "test_acc_side", "data_split"]

extension ResultStore {
    /// Copies the experiments (with their `experiment_info` rows) and runs (with their epochs, predictions and checkpoint rows;
    /// checkpoint paths stay as recorded) of `sources` into this database, in ONE transaction.
    /// Experiments match on (name, spec hash); runs on (experiment, variant, seed). A finished
    /// run wins over an unfinished copy, an unfinished copy with more epochs over one with fewer;
    /// two finished copies must hold identical results (summary columns and every prediction)
    /// or the merge is refused, naming both. Merging the same sources again changes nothing.
    public func merge(sources: [String]) throws -> MergeReport {
        let destination = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        for s in sources {
            guard FileManager.default.fileExists(atPath: s) else { throw MergeError.sourceMissing(s) }
            if URL(fileURLWithPath: s).standardizedFileURL.resolvingSymlinksInPath().path == destination {
                throw MergeError.sameAsDestination(s)
            }
        }
        return try pool.write { db in
            var report = MergeReport()
            var origin: [Int64: String] = [:]  // destination run id -> source that wrote it in this merge
            for s in sources {
                let queue = try ResultStore.openSource(s)
                var tally = MergeReport.Source(path: s)
                try queue.read { src in
                    for exp in try Row.fetchAll(src, sql: "SELECT * FROM experiments ORDER BY id") {
                        try mergeExperiment(exp, from: src, sourcePath: s, into: db, tally: &tally, origin: &origin)
                    }
                }
                report.sources.append(tally)
            }
            return report
        }
    }

    /// A read-only connection to a source, after checking it is a sidenet database this
    /// version understands.
    static func openSource(_ path: String) throws -> DatabaseQueue {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(30)
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            let applied = try queue.read { db -> [String] in
                for table in ["experiments", "runs", "epochs", "predictions", "checkpoints"] where try !db.tableExists(table) {
                    throw MergeError.unreadable(path: path, reason: "no '\(table)' table")
                }
                return try migrator.appliedMigrations(db)
            }
            let unknown = applied.filter { !migrator.migrations.contains($0) }
            if !unknown.isEmpty { throw MergeError.newerSchema(path: path, migrations: unknown) }
            return queue
        } catch let e as MergeError {
            throw e
        } catch {
            throw MergeError.unreadable(path: path, reason: "\(error)")
        }
    }

    private func mergeExperiment(_ exp: Row, from src: Database, sourcePath: String, into db: Database,
                                 tally: inout MergeReport.Source, origin: inout [Int64: String]) throws {
        let name: String = exp["name"], hash: String = exp["spec_hash"], srcId: Int64 = exp["id"]
        let destId: Int64
        if let id = try Int64.fetchOne(db, sql: "SELECT id FROM experiments WHERE name = ? AND spec_hash = ?",
                                       arguments: [name, hash]) {
            destId = id
        } else {
            try db.execute(sql: "INSERT INTO experiments (name, spec_json, spec_hash, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, exp["spec_json"] as String, hash, exp["created_at"] as String])
            destId = db.lastInsertedRowID
            tally.experimentsAdded += 1
        }
        try mergeInfo(from: src, sourceExperiment: srcId, into: db, destExperiment: destId)
        for run in try Row.fetchAll(src, sql: "SELECT * FROM runs WHERE experiment_id = ? ORDER BY variant, seed",
                                    arguments: [srcId]) {
            let variant: String = run["variant"], seed: Int = run["seed"], status: String = run["status"]
            let label = "\(name) \(variant) seed \(seed)"
            let existing = try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE experiment_id = ? AND variant = ? AND seed = ?",
                                            arguments: [destId, variant, seed])
            guard let existing else {
                let newId = try insertRun(run, experimentId: destId, into: db)
                try copyChildren(from: src, sourceRun: run["id"], into: db, destRun: newId)
                origin[newId] = sourcePath
                tally.runsAdded += 1
                tally.changes.append("+ \(label) (\(status))")
                continue
            }
            let destRun: Int64 = existing["id"]
            let finished = RunStatus.finished.rawValue
            let srcFinished = status == finished, destFinished = (existing["status"] as String) == finished
            var replace = false
            if srcFinished && destFinished {
                if let detail = try difference(src, run, db, existing) {
                    throw MergeError.conflict(run: label, first: origin[destRun] ?? "\(path) (the destination)",
                                              second: sourcePath, detail: detail)
                }
            } else if srcFinished {
                replace = true
            } else if !destFinished {
                replace = try epochCount(src, run["id"]) > epochCount(db, destRun)
            }
            if replace {
                try db.execute(sql: "DELETE FROM epochs WHERE run_id = ?", arguments: [destRun])
                try db.execute(sql: "DELETE FROM predictions WHERE run_id = ?", arguments: [destRun])
                try db.execute(sql: "DELETE FROM checkpoints WHERE run_id = ?", arguments: [destRun])
                try db.execute(sql: "DELETE FROM validation_predictions WHERE run_id = ?", arguments: [destRun])
                try db.execute(sql: "DELETE FROM timings WHERE run_id = ?", arguments: [destRun])
                try updateRun(destRun, from: run, in: db)
                try copyChildren(from: src, sourceRun: run["id"], into: db, destRun: destRun)
                origin[destRun] = sourcePath
                tally.runsReplaced += 1
                tally.changes.append("~ \(label) (\(existing["status"] as String) -> \(status))")
            } else {
                tally.runsUnchanged += 1
            }
        }
    }

    /// Gives the destination experiment an `experiment_info` row when it has none: the source's
    /// (copied column by column), else, for a source written before v5-experiment-info, the row
    /// derived from `spec_json`. A destination row is kept (the same spec hash).
    private func mergeInfo(from src: Database, sourceExperiment: Int64, into db: Database, destExperiment: Int64) throws {
        let table = ExperimentInfoRow.databaseTableName
        guard try Row.fetchOne(db, sql: "SELECT 1 FROM \(table) WHERE experiment_id = ?",
                               arguments: [destExperiment]) == nil else { return }
        guard try src.tableExists(table),
              let row = try Row.fetchOne(src, sql: "SELECT * FROM \(table) WHERE experiment_id = ?",
                                         arguments: [sourceExperiment]) else {
            return try ResultStore.fillLegacyInfo(db, experimentId: destExperiment)
        }
        let cols = try sharedColumns(row, table: table, in: db, skip: ["experiment_id"])
        let names = (["experiment_id"] + cols).map { "\"\($0)\"" }.joined(separator: ", ")
        let marks = Array(repeating: "?", count: cols.count + 1).joined(separator: ", ")
        let values: [DatabaseValue] = [destExperiment.databaseValue] + cols.map { row[$0] }
        try db.execute(sql: "INSERT INTO \(table) (\(names)) VALUES (\(marks))", arguments: StatementArguments(values))
    }

    /// Nil when two finished copies hold the same results, else what differs.
    private func difference(_ src: Database, _ a: Row, _ db: Database, _ b: Row) throws -> String? {
        for c in resultColumns where a.hasColumn(c) && b.hasColumn(c) {
            let x: DatabaseValue = a[c], y: DatabaseValue = b[c]
            if x != y { return "\(c) \(x.description) vs \(y.description)" }
        }
        let sql = "SELECT * FROM predictions WHERE run_id = ? ORDER BY idx"
        let pa = try Row.fetchAll(src, sql: sql, arguments: [a["id"] as Int64])
        let pb = try Row.fetchAll(db, sql: sql, arguments: [b["id"] as Int64])
        if pa.count != pb.count { return "\(pa.count) vs \(pb.count) predictions" }
        for (r, s) in zip(pa, pb) {
            for c in r.columnNames where c != "run_id" && s.hasColumn(c) && r[c] as DatabaseValue != s[c] as DatabaseValue {
                return "prediction \(r["idx"] as Int) differs in \(c)"
            }
        }
        return nil
    }

    private func epochCount(_ db: Database, _ runId: Int64) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM epochs WHERE run_id = ?", arguments: [runId]) ?? 0
    }

    /// Columns of `row` the destination table also has, minus `skip`.
    private func sharedColumns(_ row: Row, table: String, in db: Database, skip: Set<String>) throws -> [String] {
        let dest = Set(try db.columns(in: table).map(\.name))
        return row.columnNames.filter { dest.contains($0) && !skip.contains($0) }
    }

    private func insertRun(_ run: Row, experimentId: Int64, into db: Database) throws -> Int64 {
        let cols = try sharedColumns(run, table: "runs", in: db, skip: ["id", "experiment_id"])
        let names = (["experiment_id"] + cols).map { "\"\($0)\"" }.joined(separator: ", ")
        let marks = Array(repeating: "?", count: cols.count + 1).joined(separator: ", ")
        let values: [DatabaseValue] = [experimentId.databaseValue] + cols.map { run[$0] }
        try db.execute(sql: "INSERT INTO runs (\(names)) VALUES (\(marks))", arguments: StatementArguments(values))
        return db.lastInsertedRowID
    }

    private func updateRun(_ runId: Int64, from run: Row, in db: Database) throws {
        let cols = try sharedColumns(run, table: "runs", in: db, skip: ["id", "experiment_id"])
        let sets = cols.map { "\"\($0)\" = ?" }.joined(separator: ", ")
        let values: [DatabaseValue] = cols.map { run[$0] } + [runId.databaseValue]
        try db.execute(sql: "UPDATE runs SET \(sets) WHERE id = ?", arguments: StatementArguments(values))
    }

    /// Copies epochs, predictions, checkpoint, validation-prediction and timing rows of a source run to `destRun`.
    private func copyChildren(from src: Database, sourceRun: Int64, into db: Database, destRun: Int64) throws {
        for table in ["epochs", "predictions", "checkpoints", "validation_predictions", "timings"] {
            guard try src.tableExists(table) else { continue }  // a source written before v4-validation-predictions
            let rows = try Row.fetchCursor(src, sql: "SELECT * FROM \(table) WHERE run_id = ?", arguments: [sourceRun])
            var statement: Statement?
            var cols: [String] = []
            while let row = try rows.next() {
                if statement == nil {
                    cols = try sharedColumns(row, table: table, in: db, skip: ["run_id", "id"])  // timings.id is the destination's
                    let names = (["run_id"] + cols).map { "\"\($0)\"" }.joined(separator: ", ")
                    let marks = Array(repeating: "?", count: cols.count + 1).joined(separator: ", ")
                    statement = try db.makeStatement(sql: "INSERT INTO \(table) (\(names)) VALUES (\(marks))")
                }
                let values: [DatabaseValue] = [destRun.databaseValue] + cols.map { row[$0] }
                try statement!.execute(arguments: StatementArguments(values))
            }
        }
    }
}
