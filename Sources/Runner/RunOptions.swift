import Foundation
import Specs
import Tensors

/// How `Runner.run` executes specs.
public struct RunOptions {
    /// Only these seeds (nil: the spec's).
    public var seeds: [Int]?
    /// Only these variants (nil: the spec's).
    public var variants: [Variant]?
    /// Rerun runs already finished for the same spec hash, variant and seed.
    public var force = false
    /// Threads for OpenBLAS and our loops.
    public var threads = Threads.count
    /// Where the feature cache and checkpoints live (`results/` by default).
    public var resultsDir = URL(fileURLWithPath: "results")
    /// Feature cache folder (nil: `resultsDir/cache`); node-local scratch on a cluster.
    public var cacheDir: URL?
    /// Only this share of the (experiment, variant, seed) units (see `ShardPlan`).
    public var shard: Shard?
    /// Resolves relative data and weight paths of specs (default: the current directory).
    public var baseDir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    public var host = ProcessInfo.processInfo.hostName
    public var gitCommit: String?
    public var progress: ProgressSink = SilentProgress()
    public var stop = StopSignal()
    /// Called after each committed epoch with (experiment, variant, seed, epoch); tests use it to
    /// simulate a crash by throwing.
    public var afterEpoch: ((String, Variant, Int, Int) throws -> Void)?
    /// Regimes on cached features (`heads`, `sidenet`): train all selected runs of a spec together
    /// (`Runner+Lockstep.swift`), each with its own results exactly as alone. False: one run after
    /// the other (`RunJob`), kept to compare the two.
    public var lockstep = true

    public init() {}
}

/// Set when the process is asked to stop (Ctrl-C = SIGINT, or SIGTERM from `kill`, Slurm or
/// systemd); the runner stops at the next batch boundary, marks the run interrupted and keeps
/// every committed epoch. The first request's signal is kept (it picks the exit status).
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var requestedBy: Int32?
    public init() {}
    /// Requests a stop on behalf of `signal` (default SIGINT, i.e. Ctrl-C).
    public func request(signal: Int32 = SIGINT) {
        lock.lock()
        if requestedBy == nil { requestedBy = signal }
        lock.unlock()
    }
    public var isRequested: Bool { signal != nil }
    /// The signal of the first request (nil: no stop requested).
    public var signal: Int32? { lock.lock(); defer { lock.unlock() }; return requestedBy }
    /// What stopped the run, for `runs.reason` and the log.
    public var reason: String {
        switch signal {
        case SIGTERM?: return "stopped by SIGTERM; rerun to resume"
        case SIGINT?, nil: return "stopped by the user (Ctrl-C); rerun to resume"
        case let s?: return "stopped by signal \(s); rerun to resume"
        }
    }
}

/// What happened to one (experiment, variant, seed).
public struct RunOutcome: Equatable {
    public enum Status: String { case finished, skipped, failed, interrupted, runningElsewhere = "running elsewhere" }
    public var experiment: String
    public var variant: Variant
    public var seed: Int
    public var status: Status
    public var reason: String?
    public var testAccMain: Double?
    public var testAccSide: Double?
}

/// Counters that show what work was done (and what the feature cache saved).
public struct RunnerStats: Equatable {
    /// Batches pushed through a backbone to build features (heads/sidenet regimes).
    public var backboneFeatureBatches = 0
    public var featureCacheHits = 0
    public var featureCacheMisses = 0
    public init() {}
}

/// Runner failures with one-line messages.
public enum RunnerError: Error, CustomStringConvertible {
    case missingFile(path: String, what: String, hint: String)
    case nonFiniteLoss(epoch: Int, batch: Int, head: String)
    case interrupted
    case invalid(String)
    case checkpoint(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let path, let what, let hint):
            return "\(what) not found at \(path): \(hint)"
        case .nonFiniteLoss(let epoch, let batch, let head):
            return "non-finite \(head) training loss at epoch \(epoch), batch \(batch)"
        case .interrupted:
            return "interrupted by the user"
        case .invalid(let s):
            return s
        case .checkpoint(let path, let reason):
            return "checkpoint \(path): \(reason)"
        }
    }
}
