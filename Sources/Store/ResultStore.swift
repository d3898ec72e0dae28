import Foundation
import GRDB

/// Outcome of `ResultStore.claimRun`.
public enum ClaimResult: Equatable, Sendable {
    /// The run already finished (and `force` was false).
    case skipFinished(runId: Int64)
    /// Another runner holds the run and its heartbeat is fresh.
    case skipRunning(runId: Int64)
    /// This store now holds the run. `resumeFromEpoch` is the last committed epoch with a
    /// `last` checkpoint (load `lastCheckpoint(runId:)` and continue with the next epoch);
    /// nil = start from scratch.
    case claimed(runId: Int64, resumeFromEpoch: Int?)
}

/// The results database (SQLite through GRDB, WAL mode). Several processes and threads may use
/// one file: every state change is one IMMEDIATE write transaction, waiting up to `busyTimeout`
/// for the lock. Schema: README.md, "Results database".
public final class ResultStore: @unchecked Sendable {
    /// Default database location, relative to the working directory.
    public static let defaultPath = "results/sidenet.sqlite"

    public let path: String
    /// A 'running' run whose heartbeat is older than this is considered abandoned.
    public let staleAfter: TimeInterval
    /// Identifies this instance's claims (`host:pid:random`).
    public let ownerToken: String
    let pool: DatabasePool
    private let clock: @Sendable () -> Date

    /// Opens (creating if needed, with its directory) and migrates the database.
    /// - Parameters:
    ///   - staleAfter: seconds after which another runner's 'running' claim may be taken over;
    ///     the runner must call `heartbeat` well within this period (e.g. every staleAfter/4).
    ///   - busyTimeout: how long a write waits for another connection's lock.
    ///   - clock: time source (tests inject a fake clock).
    public init(path: String = ResultStore.defaultPath, staleAfter: TimeInterval = 300,
                busyTimeout: TimeInterval = 30, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        self.path = path
        self.staleAfter = staleAfter
        self.clock = clock
        let host = ProcessInfo.processInfo.hostName
        self.ownerToken = "\(host):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        config.label = "sidenet.store"
        pool = try DatabasePool(path: path, configuration: config)
        try ResultStore.migrator.migrate(pool)
    }

    /// Named, forward-only migrations (never edit a shipped one; add "v2-..." instead).
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-initial") { db in
            try db.create(table: "experiments") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("spec_json", .text).notNull()
                t.column("spec_hash", .text).notNull()
                t.column("created_at", .text).notNull()
                t.uniqueKey(["name", "spec_hash"])
            }
            try db.create(table: "runs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("experiment_id", .integer).notNull()
                    .references("experiments", onDelete: .cascade)
                t.column("variant", .text).notNull().check(sql: "variant IN ('sidenet','baseline')")
                t.column("seed", .integer).notNull()
                t.column("status", .text).notNull()
                    .check(sql: "status IN ('running','finished','failed','interrupted')")
                t.column("reason", .text)
                t.column("started_at", .text)
                t.column("finished_at", .text)
                t.column("heartbeat_at", .text)
                t.column("host", .text)
                t.column("threads", .integer)
                t.column("git_commit", .text)
                t.column("regime", .text)
                t.column("num_classes", .integer)
                t.column("params_prefix", .integer)
                t.column("params_sidenet", .integer)
                t.column("params_mainnet", .integer)
                t.column("flops_prefix", .integer)
                t.column("flops_sidenet", .integer)
                t.column("flops_mainnet", .integer)
                t.column("best_epoch", .integer)
                t.column("test_acc_main", .double)
                t.column("test_acc_side", .double)
                t.column("owner", .text)
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.uniqueKey(["experiment_id", "variant", "seed"])
            }
            try db.create(table: "epochs") { t in
                t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("train_loss_main", .double)
                t.column("train_loss_side", .double)
                t.column("val_loss_main", .double)
                t.column("val_loss_side", .double)
                t.column("val_acc_main", .double)
                t.column("val_acc_side", .double)
                t.column("lr", .double).notNull()
                t.column("seconds", .double).notNull()
                t.primaryKey(["run_id", "epoch"])
            }
            try db.create(table: "predictions") { t in
                t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
                t.column("idx", .integer).notNull()
                t.column("label", .integer).notNull()
                t.column("side_pred", .integer)
                t.column("side_conf", .double)
                t.column("main_pred", .integer).notNull()
                t.column("main_conf", .double).notNull()
                t.column("side_logits", .blob)
                t.column("main_logits", .blob).notNull()
                t.primaryKey(["run_id", "idx"])
            }
            try db.create(table: "checkpoints") { t in
                t.column("run_id", .integer).notNull().references("runs", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("kind", .text).notNull().check(sql: "kind IN ('last','best')")
                t.column("path", .text).notNull()
                t.column("created_at", .text).notNull()
                t.primaryKey(["run_id", "kind"])
            }
        }
        m.registerMigration("v2-data-split") { db in
            // Which examples a run trained, validated and tested on: split scheme, seed and a
            // hash of the index lists (SST) or of the held-out validation draw (CIFAR-10).
            try db.alter(table: "runs") { t in t.add(column: "data_split", .text) }
        }
        registerValidationMigration(&m)  // "v4-validation-predictions": keep it last
        return m
    }

    /// Identifiers of the migrations applied to the database, in order.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try ResultStore.migrator.appliedMigrations(db) }
    }

    /// `PRAGMA integrity_check` rows (["ok"] for a healthy database).
    public func integrityCheck() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }

    /// Current time as ISO-8601 UTC with milliseconds (`2025-01-31T12:34:56.789Z`).
    func timestamp() -> String { ResultStore.format(clock()) }

    static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }

    static func parse(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }

    // MARK: experiments

    /// Inserts the experiment if (name, specHash) is new; returns its id either way.
    @discardableResult
    public func registerExperiment(name: String, specJSON: String, specHash: String) throws -> Int64 {
        try pool.write { db in
            if let id = try Int64.fetchOne(db, sql: "SELECT id FROM experiments WHERE name = ? AND spec_hash = ?",
                                           arguments: [name, specHash]) {
                return id
            }
            let row = ExperimentRow(name: name, specJSON: specJSON, specHash: specHash, createdAt: timestamp())
            try row.insert(db)
            return db.lastInsertedRowID
        }
    }

    // MARK: claiming

    /// Claims the run (experimentId, variant, seed) for this store in one write transaction:
    /// - no row: insert it as 'running' → `.claimed(runId, nil)`;
    /// - 'finished': `.skipFinished`, unless `force` (then its epochs, predictions, checkpoints
    ///   and summary are deleted and it restarts from scratch);
    /// - 'running' with a heartbeat fresher than `staleAfter` (held by another runner, or by
    ///   this one): `.skipRunning` — even with `force`;
    /// - 'running' but stale, 'failed' or 'interrupted': reclaimed → `.claimed(runId, last
    ///   committed epoch with a 'last' checkpoint, or nil)`; epoch rows after that epoch are
    ///   dropped (and with `force` everything is dropped and it restarts from scratch).
    public func claimRun(experimentId: Int64, variant: RunVariant, seed: Int, host: String, threads: Int,
                         gitCommit: String?, regime: String, force: Bool = false) throws -> ClaimResult {
        try pool.write { db in
            let now = clock()
            let nowText = ResultStore.format(now)
            guard var run = try RunRow.filter(sql: "experiment_id = ? AND variant = ? AND seed = ?",
                                              arguments: [experimentId, variant, seed]).fetchOne(db) else {
                let row = RunRow(id: nil, experimentId: experimentId, variant: variant, seed: seed, status: .running,
                                 reason: nil, startedAt: nowText, finishedAt: nil, heartbeatAt: nowText,
                                 host: host, threads: threads, gitCommit: gitCommit, regime: regime,
                                 numClasses: nil, paramsPrefix: nil, paramsSidenet: nil, paramsMainnet: nil,
                                 flopsPrefix: nil, flopsSidenet: nil, flopsMainnet: nil, bestEpoch: nil,
                                 testAccMain: nil, testAccSide: nil, owner: ownerToken, attempts: 1)
                try row.insert(db)
                return .claimed(runId: db.lastInsertedRowID, resumeFromEpoch: nil)
            }
            let runId = run.id!
            var fresh = force
            switch run.status {
            case .finished:
                if !force { return .skipFinished(runId: runId) }
            case .running:
                let beat = run.heartbeatAt.flatMap(ResultStore.parse) ?? .distantPast
                if now.timeIntervalSince(beat) < staleAfter { return .skipRunning(runId: runId) }
            case .failed, .interrupted:
                break
            }
            var resume: Int? = nil
            if !fresh {
                resume = try Int.fetchOne(db, sql: "SELECT epoch FROM checkpoints WHERE run_id = ? AND kind = 'last'",
                                          arguments: [runId])
                if resume == nil { fresh = true }
            }
            if fresh {
                try db.execute(sql: "DELETE FROM epochs WHERE run_id = ?", arguments: [runId])
                try db.execute(sql: "DELETE FROM checkpoints WHERE run_id = ?", arguments: [runId])
                try db.execute(sql: "DELETE FROM predictions WHERE run_id = ?", arguments: [runId])
                run.bestEpoch = nil
                run.startedAt = nowText
            } else if let resume {
                try db.execute(sql: "DELETE FROM epochs WHERE run_id = ? AND epoch > ?", arguments: [runId, resume])
                try db.execute(sql: "DELETE FROM checkpoints WHERE run_id = ? AND epoch > ?", arguments: [runId, resume])
                try db.execute(sql: "DELETE FROM predictions WHERE run_id = ?", arguments: [runId])
            }
            run.status = .running
            run.reason = nil
            run.finishedAt = nil
            run.heartbeatAt = nowText
            run.host = host
            run.threads = threads
            run.gitCommit = gitCommit
            run.regime = regime
            run.numClasses = nil; run.paramsPrefix = nil; run.paramsSidenet = nil; run.paramsMainnet = nil
            run.flopsPrefix = nil; run.flopsSidenet = nil; run.flopsMainnet = nil
            run.testAccMain = nil; run.testAccSide = nil
            run.owner = ownerToken
            run.attempts += 1
            try run.update(db)
            return .claimed(runId: runId, resumeFromEpoch: fresh ? nil : resume)
        }
    }

    /// Throws unless this store holds the 'running' claim on the run.
    private func requireOwner(_ db: Database, _ runId: Int64) throws -> RunRow {
        guard let run = try RunRow.fetchOne(db, key: runId) else { throw StoreError.unknownRun(runId) }
        guard run.status == .running, run.owner == ownerToken else {
            throw StoreError.notOwner(runId: runId, status: run.status.rawValue, owner: run.owner)
        }
        return run
    }

    /// Refreshes the claim's heartbeat. Throws `notOwner` if the run was taken over.
    public func heartbeat(runId: Int64) throws {
        try pool.write { db in
            _ = try requireOwner(db, runId)
            try db.execute(sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ?", arguments: [timestamp(), runId])
        }
    }

    /// Records a finished epoch and its checkpoint(s) atomically (and refreshes the heartbeat).
    /// `epoch.runId` must equal `runId`. `checkpointPath` becomes the 'last' checkpoint (the
    /// resume point); `bestCheckpointPath`, if given, the 'best' one and `runs.best_epoch`.
    public func commitEpoch(runId: Int64, epoch: EpochRow, checkpointPath: String?,
                            bestCheckpointPath: String? = nil) throws {
        guard epoch.runId == runId else {
            throw StoreError.invalidArgument("epoch row for run \(epoch.runId) committed to run \(runId)")
        }
        try pool.write { db in
            _ = try requireOwner(db, runId)
            let now = timestamp()
            try epoch.upsert(db)
            if let checkpointPath {
                try CheckpointRow(runId: runId, epoch: epoch.epoch, kind: .last, path: checkpointPath, createdAt: now).upsert(db)
            }
            if let bestCheckpointPath {
                try CheckpointRow(runId: runId, epoch: epoch.epoch, kind: .best, path: bestCheckpointPath, createdAt: now).upsert(db)
                try db.execute(sql: "UPDATE runs SET best_epoch = ? WHERE id = ?", arguments: [epoch.epoch, runId])
            }
            try db.execute(sql: "UPDATE runs SET heartbeat_at = ? WHERE id = ?", arguments: [now, runId])
        }
    }

    /// Writes the test predictions (and the validation split's, if given) and the summary and
    /// marks the run 'finished', atomically.
    public func finishRun(runId: Int64, predictions: [PredictionRow], summary: RunSummary,
                          validationPredictions: [PredictionRow] = []) throws {
        if let bad = (predictions + validationPredictions).first(where: { $0.runId != runId }) {
            throw StoreError.invalidArgument("prediction row for run \(bad.runId) written to run \(runId)")
        }
        try pool.write { db in
            var run = try requireOwner(db, runId)
            try db.execute(sql: "DELETE FROM predictions WHERE run_id = ?", arguments: [runId])
            for p in predictions { try p.insert(db) }
            try ResultStore.writeValidationPredictions(db, runId: runId, rows: validationPredictions)
            let now = timestamp()
            run.status = .finished
            run.finishedAt = now
            run.heartbeatAt = now
            run.reason = nil
            run.numClasses = summary.numClasses
            run.paramsPrefix = summary.paramsPrefix
            run.paramsSidenet = summary.paramsSidenet
            run.paramsMainnet = summary.paramsMainnet
            run.flopsPrefix = summary.flopsPrefix
            run.flopsSidenet = summary.flopsSidenet
            run.flopsMainnet = summary.flopsMainnet
            run.bestEpoch = summary.bestEpoch ?? run.bestEpoch
            run.testAccMain = summary.testAccMain
            run.testAccSide = summary.testAccSide
            run.dataSplit = summary.dataSplit
            try run.update(db)
        }
    }

    /// Marks the run 'failed' with a reason (it will be resumed by the next claim).
    public func failRun(runId: Int64, reason: String) throws {
        try setEndState(runId, .failed, reason)
    }

    /// Marks the run 'interrupted' (signal, user stop); it will be resumed by the next claim.
    public func markInterrupted(runId: Int64, reason: String = "interrupted") throws {
        try setEndState(runId, .interrupted, reason)
    }

    private func setEndState(_ runId: Int64, _ status: RunStatus, _ reason: String) throws {
        try pool.write { db in
            _ = try requireOwner(db, runId)
            try db.execute(sql: "UPDATE runs SET status = ?, reason = ?, finished_at = ? WHERE id = ?",
                           arguments: [status.rawValue, reason, timestamp(), runId])
        }
    }

    // MARK: queries (reports)

    public func experiments() throws -> [ExperimentRow] {
        try pool.read { db in try ExperimentRow.order(sql: "id").fetchAll(db) }
    }

    public func experiment(id: Int64) throws -> ExperimentRow? {
        try pool.read { db in try ExperimentRow.fetchOne(db, key: id) }
    }

    /// Experiments with this name, newest first (one per spec hash).
    public func experiments(named name: String) throws -> [ExperimentRow] {
        try pool.read { db in
            try ExperimentRow.filter(sql: "name = ?", arguments: [name]).order(sql: "id DESC").fetchAll(db)
        }
    }

    /// Runs of an experiment ordered by variant then seed.
    public func runs(experiment experimentId: Int64) throws -> [RunRow] {
        try pool.read { db in
            try RunRow.filter(sql: "experiment_id = ?", arguments: [experimentId])
                .order(sql: "variant, seed").fetchAll(db)
        }
    }

    public func run(id: Int64) throws -> RunRow? {
        try pool.read { db in try RunRow.fetchOne(db, key: id) }
    }

    public func epochs(runId: Int64) throws -> [EpochRow] {
        try pool.read { db in try EpochRow.filter(sql: "run_id = ?", arguments: [runId]).order(sql: "epoch").fetchAll(db) }
    }

    public func predictions(runId: Int64) throws -> [PredictionRow] {
        try pool.read { db in try PredictionRow.filter(sql: "run_id = ?", arguments: [runId]).order(sql: "idx").fetchAll(db) }
    }

    public func checkpoint(runId: Int64, kind: CheckpointKind) throws -> CheckpointRow? {
        try pool.read { db in
            try CheckpointRow.filter(sql: "run_id = ? AND kind = ?", arguments: [runId, kind.rawValue]).fetchOne(db)
        }
    }

    /// The resume point of a run ('last' checkpoint), if any.
    public func lastCheckpoint(runId: Int64) throws -> CheckpointRow? { try checkpoint(runId: runId, kind: .last) }
}
