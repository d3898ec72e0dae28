import Foundation
import GRDB

/// Run variant: MainNet trained with a SideNet, or alone.
public enum RunVariant: String, Codable, CaseIterable, Sendable, DatabaseValueConvertible {
    case sidenet, baseline
}

/// Lifecycle of a run row.
public enum RunStatus: String, Codable, CaseIterable, Sendable, DatabaseValueConvertible {
    /// Claimed by a runner that heartbeats; reclaimable once the heartbeat is stale.
    case running
    /// Predictions and summary written; skipped unless forced.
    case finished
    /// The runner reported an error (`reason`); reclaimed and resumed on the next claim.
    case failed
    /// The runner was stopped (signal); reclaimed and resumed on the next claim.
    case interrupted
}

/// Checkpoint kinds: the latest epoch (resume point) and the best validation epoch.
public enum CheckpointKind: String, Codable, CaseIterable, Sendable, DatabaseValueConvertible {
    case last, best
}

/// `experiments` row: one per (name, spec hash).
public struct ExperimentRow: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "experiments"
    public var id: Int64?
    public var name: String
    public var specJSON: String
    public var specHash: String
    public var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, name, specJSON = "spec_json", specHash = "spec_hash", createdAt = "created_at"
    }

    public init(id: Int64? = nil, name: String, specJSON: String, specHash: String, createdAt: String) {
        self.id = id; self.name = name; self.specJSON = specJSON; self.specHash = specHash; self.createdAt = createdAt
    }
}

/// Model sizes, compute and test results written when a run finishes.
public struct RunSummary: Equatable, Sendable {
    public var numClasses: Int
    /// Parameters of the MainNet up to the attach point.
    public var paramsPrefix: Int
    public var paramsSidenet: Int
    /// The whole MainNet including its head.
    public var paramsMainnet: Int
    public var flopsPrefix: Int
    public var flopsSidenet: Int
    public var flopsMainnet: Int
    public var bestEpoch: Int?
    /// Test accuracies as fractions in [0, 1]; `testAccSide` nil for the baseline.
    public var testAccMain: Double
    public var testAccSide: Double?
    /// Split scheme, seed and index-list hash of the data the run used.
    public var dataSplit: String?

    public init(numClasses: Int, paramsPrefix: Int, paramsSidenet: Int, paramsMainnet: Int,
                flopsPrefix: Int, flopsSidenet: Int, flopsMainnet: Int, bestEpoch: Int?,
                testAccMain: Double, testAccSide: Double?, dataSplit: String? = nil) {
        self.numClasses = numClasses; self.paramsPrefix = paramsPrefix; self.paramsSidenet = paramsSidenet
        self.paramsMainnet = paramsMainnet; self.flopsPrefix = flopsPrefix; self.flopsSidenet = flopsSidenet
        self.flopsMainnet = flopsMainnet; self.bestEpoch = bestEpoch; self.testAccMain = testAccMain
        self.testAccSide = testAccSide
        self.dataSplit = dataSplit
    }
}

/// `runs` row: one per (experiment, variant, seed).
public struct RunRow: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "runs"
    public var id: Int64?
    public var experimentId: Int64
    public var variant: RunVariant
    public var seed: Int
    public var status: RunStatus
    public var reason: String?
    public var startedAt: String?
    public var finishedAt: String?
    public var heartbeatAt: String?
    public var host: String?
    public var threads: Int?
    public var gitCommit: String?
    public var regime: String?
    public var numClasses: Int?
    public var paramsPrefix: Int?
    public var paramsSidenet: Int?
    public var paramsMainnet: Int?
    public var flopsPrefix: Int?
    public var flopsSidenet: Int?
    public var flopsMainnet: Int?
    public var bestEpoch: Int?
    public var testAccMain: Double?
    public var testAccSide: Double?
    /// Token of the ResultStore instance holding the claim (host, pid, random).
    public var owner: String?
    /// Number of times the run was claimed (1 for a run that never resumed).
    public var attempts: Int
    /// Split scheme, seed and index-list hash (migration v2; nil for older runs).
    public var dataSplit: String?
    /// The process holding (or last holding) the claim (migration v3; nil for older rows).
    public var ownerHost: String?
    public var ownerMachine: String?
    public var ownerPid: Int64?
    public var ownerStarted: Int64?

    /// The process recorded with the claim, nil for rows claimed before migration v3.
    public var claimOwner: ClaimOwner? {
        guard let ownerHost, let ownerPid, let pid = Int32(exactly: ownerPid) else { return nil }
        return ClaimOwner(host: ownerHost, machine: ownerMachine ?? "", pid: pid, started: ownerStarted)
    }

    mutating func setClaimOwner(_ o: ClaimOwner) {
        ownerHost = o.host; ownerMachine = o.machine; ownerPid = Int64(o.pid); ownerStarted = o.started
    }

    enum CodingKeys: String, CodingKey {
        case id, experimentId = "experiment_id", variant, seed, status, reason
        case startedAt = "started_at", finishedAt = "finished_at", heartbeatAt = "heartbeat_at"
        case host, threads, gitCommit = "git_commit", regime, numClasses = "num_classes"
        case paramsPrefix = "params_prefix", paramsSidenet = "params_sidenet", paramsMainnet = "params_mainnet"
        case flopsPrefix = "flops_prefix", flopsSidenet = "flops_sidenet", flopsMainnet = "flops_mainnet"
        case bestEpoch = "best_epoch", testAccMain = "test_acc_main", testAccSide = "test_acc_side"
        case owner, attempts, dataSplit = "data_split"
        case ownerHost = "owner_host", ownerMachine = "owner_machine", ownerPid = "owner_pid"
        case ownerStarted = "owner_started"
    }

    public var summary: RunSummary? {
        guard let numClasses, let paramsPrefix, let paramsSidenet, let paramsMainnet, let flopsPrefix,
              let flopsSidenet, let flopsMainnet, let testAccMain else { return nil }
        return RunSummary(numClasses: numClasses, paramsPrefix: paramsPrefix, paramsSidenet: paramsSidenet,
                          paramsMainnet: paramsMainnet, flopsPrefix: flopsPrefix, flopsSidenet: flopsSidenet,
                          flopsMainnet: flopsMainnet, bestEpoch: bestEpoch, testAccMain: testAccMain,
                          testAccSide: testAccSide, dataSplit: dataSplit)
    }
}

/// `epochs` row: metrics of one finished epoch. Losses and accuracies are nil where not
/// applicable (SideNet columns of the baseline) — and SQLite stores NaN as NULL, so a NaN loss
/// reads back as nil.
public struct EpochRow: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "epochs"
    public var runId: Int64
    public var epoch: Int
    public var trainLossMain: Double?
    public var trainLossSide: Double?
    public var valLossMain: Double?
    public var valLossSide: Double?
    public var valAccMain: Double?
    public var valAccSide: Double?
    /// Learning rate used during the epoch.
    public var lr: Double
    /// Wall-clock seconds of the epoch (training + validation).
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case runId = "run_id", epoch, trainLossMain = "train_loss_main", trainLossSide = "train_loss_side"
        case valLossMain = "val_loss_main", valLossSide = "val_loss_side", valAccMain = "val_acc_main"
        case valAccSide = "val_acc_side", lr, seconds
    }

    public init(runId: Int64, epoch: Int, trainLossMain: Double?, trainLossSide: Double?,
                valLossMain: Double?, valLossSide: Double?, valAccMain: Double?, valAccSide: Double?,
                lr: Double, seconds: Double) {
        self.runId = runId; self.epoch = epoch; self.trainLossMain = trainLossMain
        self.trainLossSide = trainLossSide; self.valLossMain = valLossMain; self.valLossSide = valLossSide
        self.valAccMain = valAccMain; self.valAccSide = valAccSide; self.lr = lr; self.seconds = seconds
    }
}

/// `predictions` row: one test example of a finished run. Side columns nil for the baseline.
public struct PredictionRow: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "predictions"
    public var runId: Int64
    /// Index of the example in the test split.
    public var idx: Int
    public var label: Int
    public var sidePred: Int?
    public var sideConf: Double?
    public var mainPred: Int
    public var mainConf: Double
    /// Little-endian Float32 logits (see `Logits`).
    public var sideLogits: Data?
    public var mainLogits: Data

    enum CodingKeys: String, CodingKey {
        case runId = "run_id", idx, label, sidePred = "side_pred", sideConf = "side_conf"
        case mainPred = "main_pred", mainConf = "main_conf", sideLogits = "side_logits", mainLogits = "main_logits"
    }

    public init(runId: Int64, idx: Int, label: Int, sidePred: Int?, sideConf: Double?, mainPred: Int,
                mainConf: Double, sideLogits: [Float]?, mainLogits: [Float]) {
        self.runId = runId; self.idx = idx; self.label = label; self.sidePred = sidePred
        self.sideConf = sideConf; self.mainPred = mainPred; self.mainConf = mainConf
        self.sideLogits = sideLogits.map(Logits.encode)
        self.mainLogits = Logits.encode(mainLogits)
    }

    /// Decoded `main_logits`.
    public func mainLogitValues() throws -> [Float] { try Logits.decode(mainLogits) }
    /// Decoded `side_logits` (nil for the baseline).
    public func sideLogitValues() throws -> [Float]? { try sideLogits.map(Logits.decode) }
}

/// `checkpoints` row: where the runner saved the model of `epoch` (one row per kind).
public struct CheckpointRow: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "checkpoints"
    public var runId: Int64
    public var epoch: Int
    public var kind: CheckpointKind
    public var path: String
    public var createdAt: String

    enum CodingKeys: String, CodingKey {
        case runId = "run_id", epoch, kind, path, createdAt = "created_at"
    }

    public init(runId: Int64, epoch: Int, kind: CheckpointKind, path: String, createdAt: String) {
        self.runId = runId; self.epoch = epoch; self.kind = kind; self.path = path; self.createdAt = createdAt
    }
}

/// Logits blobs: little-endian IEEE Float32, 4 bytes per class, no header.
public enum Logits {
    public static func encode(_ values: [Float]) -> Data {
        var d = Data(capacity: values.count * 4)
        for v in values {
            let b = v.bitPattern.littleEndian
            withUnsafeBytes(of: b) { d.append(contentsOf: $0) }
        }
        return d
    }

    public static func decode(_ data: Data) throws -> [Float] {
        guard data.count % 4 == 0 else { throw StoreError.badLogitsBlob(bytes: data.count) }
        let bytes = [UInt8](data)
        return stride(from: 0, to: bytes.count, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }
}

/// Store errors. SQLite errors are wrapped in `database`, which names the file.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// An SQLite error on the database at `path`.
    case database(path: String, message: String)
    /// A read-only open of a database that does not exist.
    case noDatabase(path: String)
    /// The database was migrated by a newer sidenet: writing into it could corrupt it.
    case unknownMigrations(path: String, names: [String])
    /// A run id that does not exist.
    case unknownRun(Int64)
    /// This ResultStore does not hold the claim on the run (it was reclaimed by another runner
    /// after a stale heartbeat, or never claimed here).
    case notOwner(runId: Int64, status: String, owner: String?)
    /// A logits blob whose length is not a multiple of 4 bytes.
    case badLogitsBlob(bytes: Int)
    case invalidArgument(String)
    /// An `experiment_info` row (or one derived from `spec_json`) the report cannot use.
    case invalidExperimentInfo(String)

    public var description: String {
        switch self {
        case .database(let path, let message): return "\(path): \(message)"
        case .noDatabase(let path): return "no database at \(path)"
        case .unknownMigrations(let path, let names):
            return "\(path): written by a newer sidenet (unknown migration\(names.count == 1 ? "" : "s") "
                + "\(names.joined(separator: ", "))); refusing to write into it: use the sidenet that created it or another --db"
        case .unknownRun(let id): return "store: run \(id) does not exist"
        case .notOwner(let id, let status, let owner):
            return "store: run \(id) is not held by this runner (status \(status), owner \(owner ?? "none"))"
        case .badLogitsBlob(let n): return "store: logits blob of \(n) bytes is not a whole number of Float32 values"
        case .invalidArgument(let s): return "store: \(s)"
        case .invalidExperimentInfo(let s): return "store: \(s)"
        }
    }
}
