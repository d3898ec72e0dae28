import Foundation
import Specs
import Store
import Tensors

/// Executes experiment specs for every seed and variant, writing every result to the store.
/// Finished runs (same spec hash, variant, seed) are skipped unless `force`; interrupted or
/// failed ones resume from their last committed epoch; runs held by another live process are
/// reported as `runningElsewhere`. Any error fails only its run (recorded with its reason when
/// the store can take it) and the other runs and specs go on; a stop request (Ctrl-C, SIGTERM)
/// ends after marking the current run interrupted.
public final class Runner {
    public let store: ResultStore
    public let options: RunOptions
    public internal(set) var stats = RunnerStats()
    let cache: FeatureCache

    public init(store: ResultStore, options: RunOptions) {
        self.store = store
        self.options = options
        cache = FeatureCache(directory: options.cacheDir ?? options.resultsDir.appendingPathComponent("cache"))
        Threads.set(options.threads)
    }

    /// The seeds and variants of `spec` that `options` selects, and the requested ones the spec
    /// does not have.
    public static func selection(_ spec: ExperimentSpec, _ options: RunOptions) -> RunSelection {
        let seeds = options.seeds.map { s in spec.seeds.filter { s.contains($0) } } ?? spec.seeds
        let variants = options.variants.map { v in spec.variants.filter { v.contains($0) } } ?? spec.variants
        return RunSelection(seeds: seeds, variants: variants,
                            missingSeeds: (options.seeds ?? []).filter { !spec.seeds.contains($0) },
                            missingVariants: (options.variants ?? []).filter { !spec.variants.contains($0) })
    }

    /// Runs every spec (in order), every selected variant and seed.
    @discardableResult
    public func run(_ specs: [ExperimentSpec]) throws -> [RunOutcome] {
        var outcomes: [RunOutcome] = []
        // a feature cache file still being written is complete before the runner returns
        defer { if let problem = cache.finishWrites() { options.progress.note(problem) } }
        let selected = options.shard.map { shard in
            Set(ShardPlan.select(ShardPlan.units(specs, seeds: options.seeds, variants: options.variants), shard: shard))
        }
        for spec in specs {
            if options.stop.isRequested { break }
            if let selected, !selected.contains(where: { $0.experiment == spec.name }) { continue }
            outcomes += run(spec, only: selected)
        }
        return outcomes
    }

    private func run(_ spec: ExperimentSpec, only selected: Set<RunUnit>?) -> [RunOutcome] {
        let sel = Runner.selection(spec, options)
        if !sel.missingSeeds.isEmpty || !sel.missingVariants.isEmpty {
            let missing = sel.missingSeeds.map { "seed \($0)" } + sel.missingVariants.map { "variant \($0.rawValue)" }
            options.progress.note("\(spec.name): the spec has no \(missing.joined(separator: ", ")) "
                + "(seeds \(spec.seeds.map(String.init).joined(separator: ",")), variants "
                + "\(spec.variants.map(\.rawValue).joined(separator: ","))); "
                + (sel.isEmpty ? "nothing to run" : "running the rest"))
        }
        let experimentId: Int64
        do {
            try spec.validate()
            experimentId = try store.registerExperiment(name: spec.name, specJSON: spec.canonicalJSON(),
                                                        specHash: spec.specHash, info: spec.reportInfo)
        } catch {
            // nothing can run: every selected run fails with this reason
            return sel.pairs.filter { seed, variant in
                selected?.contains { $0.experiment == spec.name && $0.variant == variant && $0.seed == seed } ?? true
            }.map { seed, variant in
                failed(spec, variant, seed, reason: "\(error)")
            }
        }
        var data: Result<PreparedData, Error>?
        var outcomes: [RunOutcome] = []
        let d = spec.training.regime.declaration
        if options.lockstep, d.cachesFeatures, d.checkpoint == .heads {  // cached features: all runs at once
            return runLockstep(spec, experimentId: experimentId, selection: sel, only: selected)
        }
        for (seed, variant) in sel.pairs {
            if options.stop.isRequested { return outcomes }
            if let selected, !selected.contains(where: { $0.experiment == spec.name && $0.variant == variant && $0.seed == seed }) {
                continue  // another shard's unit
            }
            let outcome = runOne(spec, experimentId: experimentId, variant: variant, seed: seed, data: &data)
            outcomes.append(outcome)
            if outcome.status == .interrupted { return outcomes }
        }
        return outcomes
    }

    func failed(_ spec: ExperimentSpec, _ variant: Variant, _ seed: Int, reason: String) -> RunOutcome {
        options.progress.note("\(spec.name) \(variant.rawValue) seed \(seed): FAILED: \(reason)")
        return RunOutcome(experiment: spec.name, variant: variant, seed: seed, status: .failed, reason: reason)
    }

    /// Claims and executes one run. `data` is loaded by the first run that needs it; a load
    /// error fails every run of the spec with the same reason.
    private func runOne(_ spec: ExperimentSpec, experimentId: Int64, variant: Variant, seed: Int,
                        data: inout Result<PreparedData, Error>?) -> RunOutcome {
        var (outcome, claimed) = claim(spec, experimentId: experimentId, variant: variant, seed: seed)
        if let (runId, resumeFrom) = claimed {
            do {
                if data == nil { data = Result { try PreparedData.load(spec, baseDir: options.baseDir) } }
                let job = RunJob(spec: spec, variant: variant, seed: seed, data: try data!.get(), store: store, runId: runId,
                                 resumeFrom: resumeFrom, options: options, cache: cache, stats: stats)
                defer { stats = job.stats }
                let (summary, predictions) = try job.execute()
                try store.finishRun(runId: runId, predictions: predictions, summary: summary,
                                    validationPredictions: job.validationRows)
                outcome.status = .finished
                outcome.testAccMain = summary.testAccMain
                outcome.testAccSide = summary.testAccSide
            } catch RunnerError.interrupted {
                interruptClaimed(runId, &outcome)
            } catch {
                return failClaimed(runId, spec, variant, seed, error: error)
            }
        }
        return outcome
    }

    /// Claims (experiment, variant, seed) in the store. A run finished earlier or held by another
    /// process comes back as its outcome (noted in the progress); a claimed run as its id and
    /// resume point (outcome `skipped` until it runs); a failed claim as a failed outcome.
    func claim(_ spec: ExperimentSpec, experimentId: Int64, variant: Variant,
               seed: Int) -> (RunOutcome, claimed: (runId: Int64, resumeFrom: Int?)?) {
        let label = "\(spec.name) \(variant.rawValue) seed \(seed)"
        var outcome = RunOutcome(experiment: spec.name, variant: variant, seed: seed, status: .skipped)
        do {
            switch try store.claimRun(experimentId: experimentId, variant: variant == .sidenet ? .sidenet : .baseline,
                                      seed: seed, host: options.host, threads: options.threads,
                                      gitCommit: options.gitCommit, regime: spec.training.regime.rawValue,
                                      force: options.force) {
            case .skipFinished(let runId):
                let row = try? store.run(id: runId)
                outcome.testAccMain = row?.testAccMain
                outcome.testAccSide = row?.testAccSide
                options.progress.note("\(label): finished earlier, skipped (--force reruns)")
            case .skipRunning(let runId):
                outcome.status = .runningElsewhere
                outcome.reason = holderDescription(runId)
                options.progress.note("\(label): \(outcome.reason!), skipped")
            case .claimed(let runId, let resumeFrom):
                return (outcome, (runId, resumeFrom))
            }
        } catch {
            outcome = failed(spec, variant, seed, reason: "cannot claim the run: \(error)")
        }
        return (outcome, nil)
    }

    /// Marks a claimed run failed in the store; its outcome (the reason says when that could
    /// not be recorded).
    func failClaimed(_ runId: Int64, _ spec: ExperimentSpec, _ variant: Variant, _ seed: Int, error: Error) -> RunOutcome {
        var reason = "\(error)"
        do { try store.failRun(runId: runId, reason: reason) } catch let storeError {
            reason += " (not recorded: \(storeError))"
        }
        return failed(spec, variant, seed, reason: reason)
    }

    /// Marks a claimed run interrupted in the store (its committed epochs are kept, to resume).
    func interruptClaimed(_ runId: Int64, _ outcome: inout RunOutcome) {
        outcome.status = .interrupted
        outcome.reason = options.stop.reason
        do { try store.markInterrupted(runId: runId, reason: options.stop.reason) } catch {
            outcome.reason! += " (not recorded: \(error))"
        }
        options.progress.note("\(outcome.experiment) \(outcome.variant.rawValue) seed \(outcome.seed): "
                              + "interrupted; committed epochs are kept")
    }

    /// "running in process 123 on host h (heartbeat ...)" for a run another process holds.
    private func holderDescription(_ runId: Int64) -> String {
        guard let row = try? store.run(id: runId) else { return "running in another process" }
        var s = "running in another process"
        if let o = row.claimOwner { s = "running in process \(o.pid) on \(o.host)" }
        if let beat = row.heartbeatAt { s += " (heartbeat \(beat))" }
        return s
    }
}

/// The runs of one spec that `RunOptions.seeds`/`variants` select.
public struct RunSelection: Equatable {
    public var seeds: [Int]
    public var variants: [Variant]
    /// Requested seeds and variants the spec does not have.
    public var missingSeeds: [Int]
    public var missingVariants: [Variant]
    public var isEmpty: Bool { seeds.isEmpty || variants.isEmpty }
    /// (seed, variant) in run order: seeds outer, variants inner.
    public var pairs: [(Int, Variant)] { seeds.flatMap { s in variants.map { (s, $0) } } }
}
