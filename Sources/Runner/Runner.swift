import Foundation
import Specs
import Store
import Tensors

/// Executes experiment specs for every seed and variant, writing every result to the store.
/// Finished runs (same spec hash, variant, seed) are skipped unless `force`; interrupted or
/// failed ones resume from their last committed epoch. A failing run is recorded with its
/// reason and the others go on; a stop request (Ctrl-C) ends after marking the current run
/// interrupted.
public final class Runner {
    public let store: ResultStore
    public let options: RunOptions
    public private(set) var stats = RunnerStats()
    private let cache: FeatureCache

    public init(store: ResultStore, options: RunOptions) {
        self.store = store
        self.options = options
        cache = FeatureCache(directory: options.resultsDir.appendingPathComponent("cache"))
        Threads.set(options.threads)
    }

    /// Runs every spec (in order), every selected variant and seed.
    @discardableResult
    public func run(_ specs: [ExperimentSpec]) throws -> [RunOutcome] {
        var outcomes: [RunOutcome] = []
        for spec in specs {
            try spec.validate()
            if options.stop.isRequested { break }
            outcomes += try run(spec)
        }
        return outcomes
    }

    private func run(_ spec: ExperimentSpec) throws -> [RunOutcome] {
        let experimentId = try store.registerExperiment(name: spec.name, specJSON: spec.canonicalJSON(),
                                                        specHash: spec.specHash)
        let seeds = options.seeds.map { s in spec.seeds.filter { s.contains($0) } } ?? spec.seeds
        let variants = options.variants.map { v in spec.variants.filter { v.contains($0) } } ?? spec.variants
        var data: PreparedData?
        var outcomes: [RunOutcome] = []
        for seed in seeds {
            for variant in variants {
                if options.stop.isRequested { return outcomes }
                let claim = try store.claimRun(experimentId: experimentId, variant: variant == .sidenet ? .sidenet : .baseline,
                                               seed: seed, host: options.host, threads: options.threads,
                                               gitCommit: options.gitCommit, regime: spec.training.regime.rawValue,
                                               force: options.force)
                var outcome = RunOutcome(experiment: spec.name, variant: variant, seed: seed, status: .skipped)
                switch claim {
                case .skipFinished(let runId):
                    let row = try store.run(id: runId)
                    outcome.testAccMain = row?.testAccMain
                    outcome.testAccSide = row?.testAccSide
                    options.progress.note("\(spec.name) \(variant.rawValue) seed \(seed): finished earlier, skipped (--force reruns)")
                case .skipRunning:
                    outcome.status = .runningElsewhere
                    options.progress.note("\(spec.name) \(variant.rawValue) seed \(seed): running in another process, skipped")
                case .claimed(let runId, let resumeFrom):
                    do {
                        if data == nil { data = try PreparedData.load(spec, baseDir: options.baseDir) }
                        let job = RunJob(spec: spec, variant: variant, seed: seed, data: data!, store: store, runId: runId,
                                         resumeFrom: resumeFrom, options: options, cache: cache, stats: stats)
                        defer { stats = job.stats }
                        let (summary, predictions) = try job.execute()
                        try store.finishRun(runId: runId, predictions: predictions, summary: summary,
                                            validationPredictions: job.validationRows)
                        outcome.status = .finished
                        outcome.testAccMain = summary.testAccMain
                        outcome.testAccSide = summary.testAccSide
                    } catch RunnerError.interrupted {
                        try store.markInterrupted(runId: runId, reason: "stopped by the user (Ctrl-C); rerun to resume")
                        outcome.status = .interrupted
                        outcomes.append(outcome)
                        options.progress.note("\(spec.name) \(variant.rawValue) seed \(seed): interrupted; committed epochs are kept")
                        return outcomes
                    } catch {
                        let reason = "\(error)"
                        try store.failRun(runId: runId, reason: reason)
                        outcome.status = .failed
                        outcome.reason = reason
                        options.progress.note("\(spec.name) \(variant.rawValue) seed \(seed): FAILED: \(reason)")
                        if isDataError(error) {
                            // the same data error would fail every run of this spec
                            outcomes.append(outcome)
                            return outcomes
                        }
                    }
                }
                outcomes.append(outcome)
            }
        }
        return outcomes
    }

    private func isDataError(_ error: Error) -> Bool {
        if case RunnerError.missingFile = error { return true }
        let name = String(describing: type(of: error))
        return name == "CIFARError" || name == "SSTError" || name == "TokenizerError"
    }
}
