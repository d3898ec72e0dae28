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
/// for the lock. Every SQLite error is thrown as `StoreError.database`, naming the file.
/// Schema: README.md, "Results database".
public final class ResultStore: @unchecked Sendable {
    /// Default database location, relative to the working directory.
    public static let defaultPath = "results/sidenet.sqlite"

    public let path: String
    /// A 'running' run of another machine whose heartbeat is older than this is considered
    /// abandoned (on this machine the claim's process decides: see `ClaimOwner`).
    public let staleAfter: TimeInterval
    /// Identifies this instance's claims (`host:pid:random`).
    public let ownerToken: String
    /// The process recorded with this instance's claims.
    public let process: ClaimOwner
    public let readOnly: Bool
    let pool: DatabasePool
    let clock: @Sendable () -> Date

    /// Opens the database. Writable (the default): creates it and its directory if needed,
    /// refuses a database carrying a migration this build does not know, then migrates it.
    /// Read-only: opens an existing database without creating or migrating anything (throws
    /// `noDatabase` when there is no file at `path`).
    /// - Parameters:
    ///   - staleAfter: seconds after which another machine's 'running' claim may be taken over;
    ///     the runner must call `heartbeat` well within this period (e.g. every staleAfter/4).
    ///   - busyTimeout: how long a write waits for another connection's lock.
    ///   - clock: time source (tests inject a fake clock).
    ///   - process: the process recorded with claims (tests inject others).
    public init(path: String = ResultStore.defaultPath, readOnly: Bool = false, staleAfter: TimeInterval = 300,
                busyTimeout: TimeInterval = 30, clock: @escaping @Sendable () -> Date = { Date() },
                process: ClaimOwner = .current()) throws {
        self.path = path
        self.readOnly = readOnly
        self.staleAfter = staleAfter
        self.clock = clock
        self.process = process
        self.ownerToken = "\(process.host):\(process.pid):\(UUID().uuidString.prefix(8))"
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.foreignKeysEnabled = true
        config.readonly = readOnly
        config.label = "sidenet.store"
        if readOnly {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
                throw StoreError.noDatabase(path: path)
            }
            pool = try ResultStore.wrap(path) { try ResultStore.openPool(path, config) }
            return
        }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw StoreError.database(path: path, message: "cannot create its directory \(dir.path): \(error.localizedDescription)")
        }
        pool = try ResultStore.wrap(path) { try ResultStore.openPool(path, config) }
        try ResultStore.wrap(path) { try ResultStore.migrate(pool, path: path) }
    }

    /// Opens the pool, retrying while another process holds the lock that switching a new file
    /// to WAL needs: SQLite answers SQLITE_BUSY there at once, without calling the busy handler.
    private static func openPool(_ path: String, _ config: Configuration) throws -> DatabasePool {
        var attempt = 0
        while true {
            do {
                return try DatabasePool(path: path, configuration: config)
            } catch let e as DatabaseError where e.resultCode == .SQLITE_BUSY && attempt < 100 {
                attempt += 1
                usleep(useconds_t(10_000 * min(attempt, 10)))
            }
        }
    }

    /// Refuses unknown migrations, then applies the missing ones. GRDB checks which migrations
    /// are applied outside their transactions, so two processes opening a new database together
    /// can both try "v1-initial"; the loser's transaction rolls back and it simply checks again.
    private static func migrate(_ pool: DatabasePool, path: String) throws {
        var attempt = 0
        while true {
            let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
            let unknown = applied.subtracting(migrator.migrations).sorted()
            if !unknown.isEmpty { throw StoreError.unknownMigrations(path: path, names: unknown) }
            do {
                try migrator.migrate(pool)
                return
            } catch is DatabaseError where attempt < 20 {
                attempt += 1
                usleep(useconds_t(20_000 * attempt))  // another process is migrating: let it finish
            }
        }
    }

    /// Runs `body`, turning SQLite errors into `StoreError.database` naming `path`.
    static func wrap<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as DatabaseError {
            throw StoreError.database(path: path, message: ResultStore.describe(e))
        }
    }

    /// "SQLite error 5: database is locked" plus the statement, without argument values.
    static func describe(_ e: DatabaseError) -> String {
        var s = "SQLite error \(e.resultCode.rawValue): \(e.message ?? "\(e.resultCode)")"
        if let sql = e.sql { s += " - while executing `\(sql.count > 200 ? String(sql.prefix(200)) + "..." : sql)`" }
        return s
    }

    /// A read transaction whose SQLite errors name the file.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try ResultStore.wrap(path) { try pool.read(body) }
    }

    /// A write transaction whose SQLite errors name the file.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try ResultStore.wrap(path) { try pool.write(body) }
    }

    /// Identifiers of the migrations applied to the database, in order.
    public func appliedMigrations() throws -> [String] {
        try read { db in try ResultStore.migrator.appliedMigrations(db) }
    }

    /// `PRAGMA integrity_check` rows (["ok"] for a healthy database).
    public func integrityCheck() throws -> [String] {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
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

    /// Inserts the experiment if (name, specHash) is new; returns its id either way. `info`
    /// (what the report needs: label, figure, the paper's numbers, ECE bins, synthetic) is
    /// written with it, replacing the row of an earlier registration of the same spec hash (its
    /// fields are not hashed); without `info` a new experiment gets the row derived from
    /// `specJSON` as migration v5 derives it for older rows.
    @discardableResult
    public func registerExperiment(name: String, specJSON: String, specHash: String,
                                   info: ExperimentInfoRow? = nil) throws -> Int64 {
        try write { db in
            if let id = try Int64.fetchOne(db, sql: "SELECT id FROM experiments WHERE name = ? AND spec_hash = ?",
                                           arguments: [name, specHash]) {
                if info != nil { try ResultStore.writeInfo(db, experimentId: id, info: info) }
                return id
            }
            let row = ExperimentRow(name: name, specJSON: specJSON, specHash: specHash, createdAt: timestamp())
            try row.insert(db)
            let id = db.lastInsertedRowID
            try ResultStore.writeInfo(db, experimentId: id, info: info)
            return id
        }
    }

    // MARK: queries (reports)

    public func experiments() throws -> [ExperimentRow] {
        try read { db in try ExperimentRow.order(sql: "id").fetchAll(db) }
    }

    public func experiment(id: Int64) throws -> ExperimentRow? {
        try read { db in try ExperimentRow.fetchOne(db, key: id) }
    }

    /// Experiments with this name, newest first (one per spec hash).
    public func experiments(named name: String) throws -> [ExperimentRow] {
        try read { db in
            try ExperimentRow.filter(sql: "name = ?", arguments: [name]).order(sql: "id DESC").fetchAll(db)
        }
    }

    /// Runs of an experiment ordered by variant then seed.
    public func runs(experiment experimentId: Int64) throws -> [RunRow] {
        try read { db in
            try RunRow.filter(sql: "experiment_id = ?", arguments: [experimentId])
                .order(sql: "variant, seed").fetchAll(db)
        }
    }

    public func run(id: Int64) throws -> RunRow? {
        try read { db in try RunRow.fetchOne(db, key: id) }
    }

    public func epochs(runId: Int64) throws -> [EpochRow] {
        try read { db in try EpochRow.filter(sql: "run_id = ?", arguments: [runId]).order(sql: "epoch").fetchAll(db) }
    }

    public func predictions(runId: Int64) throws -> [PredictionRow] {
        try read { db in try PredictionRow.filter(sql: "run_id = ?", arguments: [runId]).order(sql: "idx").fetchAll(db) }
    }

    public func checkpoint(runId: Int64, kind: CheckpointKind) throws -> CheckpointRow? {
        try read { db in
            try CheckpointRow.filter(sql: "run_id = ? AND kind = ?", arguments: [runId, kind.rawValue]).fetchOne(db)
        }
    }

    /// The resume point of a run ('last' checkpoint), if any.
    public func lastCheckpoint(runId: Int64) throws -> CheckpointRow? { try checkpoint(runId: runId, kind: .last) }
}
