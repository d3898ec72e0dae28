import ArgumentParser
import Foundation
import Runner
import Specs
import Tensors

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Train and evaluate experiment specs for every seed and variant, storing each run in SQLite.",
        discussion: """
        Finished runs (same spec hash, variant and seed) are skipped; interrupted or failed runs resume \
        from their last committed epoch. Ctrl-C (SIGINT) or SIGTERM stops after the current batch, keeps \
        every finished epoch, marks the run interrupted and exits 130 (SIGINT) or 143 (SIGTERM); a second \
        signal exits at once. A run held by a live process on this machine is skipped; one whose process \
        is gone (kill -9, crash) is taken over at once; another machine's claim only once its heartbeat is \
        5 minutes old. Exit status: 0 every selected run finished (now or earlier), 1 a run failed (the \
        others still ran), 75 another live process holds some runs, 130/143 stopped by SIGINT/SIGTERM, \
        64 usage errors (including --seeds/--variant values no spec has). Checkpoints and the feature \
        cache go under --results.
        """)

    @Argument(help: "Experiment spec files (YAML), e.g. experiments/demo/*.yaml.")
    var specs: [String]

    @Option(help: "Only these seeds, comma-separated (e.g. 0,1).")
    var seeds: String?

    @Option(help: "Only this variant: sidenet or baseline.")
    var variant: String?

    @OptionGroup var database: DatabaseOption

    @Option(parsing: .unconditional, help: "Threads for OpenBLAS and sidenet's loops (default: SLURM_CPUS_PER_TASK when set, else all cores).")
    var threads: Int = defaultThreads()

    @Option(help: "Folder for checkpoints and the feature cache.")
    var results: String = "results"

    @Flag(help: "Rerun runs that already finished.")
    var force = false

    @Option(help: "Run only shard K of N (1-based, e.g. 2/4): a fixed share of the (experiment, variant, seed) units; give each shard its own --db and --results.")
    var shard: String?

    @Option(help: "Feature cache folder (default: RESULTS/cache), e.g. node-local scratch on a cluster.")
    var cache: String?

    @Flag(help: "Run nothing: list the selected units with their status in --db, then 'pending: N'.")
    var dryRun = false

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let v = variant, Variant(rawValue: v) == nil { throw ValidationError("--variant must be sidenet or baseline, not '\(v)'") }
        if let s = seeds, parsedSeeds(s) == nil { throw ValidationError("--seeds must be comma-separated integers, not '\(s)'") }
        if let s = shard { do { _ = try Shard(parsing: s) } catch { throw ValidationError("\(error)") } }
    }

    private func parsedSeeds(_ s: String) -> [Int]? {
        let parts = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(nil) || parts.isEmpty ? nil : parts.compactMap { $0 }
    }

    func run() throws {
        let loaded = try loadSpecs(specs)
        var options = RunOptions()
        options.seeds = seeds.flatMap(parsedSeeds)
        options.variants = variant.flatMap(Variant.init(rawValue:)).map { [$0] }
        options.shard = try shard.map(Shard.init(parsing:))
        if dryRun { return try printPlan(loaded, options: options, db: database.db) }
        try checkSelection(loaded, options)
        StopSignals.install(options.stop)
        let store = try database.open()
        options.cacheDir = cache.map { URL(fileURLWithPath: $0) }
        options.threads = threads
        options.force = force
        options.resultsDir = URL(fileURLWithPath: results)
        options.gitCommit = currentGitCommit()
        options.progress = ProgressDisplay()
        if let sh = options.shard {
            let all = ShardPlan.units(loaded, seeds: options.seeds, variants: options.variants)
            printError("shard \(sh): \(ShardPlan.select(all, shard: sh).count) of \(all.count) units")
        }
        let runner = Runner(store: store, options: options)
        let outcomes = try runner.run(loaded)
        print("")
        print(pad("experiment", 24) + pad("variant", 10) + pad("seed", 6) + pad("status", 19) + pad("main %", 8) + "side %")
        for o in outcomes {
            print(pad(o.experiment, 24) + pad(o.variant.rawValue, 10) + pad("\(o.seed)", 6) + pad(o.status.rawValue, 19)
                  + pad(percent(o.testAccMain), 8) + percent(o.testAccSide))
            if let r = o.reason { print("    reason: \(r)") }
        }
        let s = runner.stats
        print("feature cache: \(s.featureCacheHits) hits, \(s.featureCacheMisses) misses, \(s.backboneFeatureBatches) backbone batches")
        let status = RunExit.status(outcomes, stop: options.stop)
        printError(RunExit.summary(outcomes, status: status))
        if status != 0 { throw ExitCode(status) }
    }

    /// Refuses `--seeds`/`--variant` values that no spec has (nothing would run for them).
    private func checkSelection(_ specs: [ExperimentSpec], _ options: RunOptions) throws {
        let selections = specs.map { Runner.selection($0, options) }
        let listing = zip(specs, specs.map(\.seeds)).map { "\($0.0.name): \($0.1.map(String.init).joined(separator: ","))" }
        for seed in options.seeds ?? [] where selections.allSatisfy({ $0.missingSeeds.contains(seed) }) {
            throw ValidationError("--seeds \(seed): no spec has seed \(seed) (\(listing.joined(separator: "; ")))")
        }
        for v in options.variants ?? [] where selections.allSatisfy({ $0.missingVariants.contains(v) }) {
            throw ValidationError("--variant \(v.rawValue): no spec has this variant")
        }
        if selections.allSatisfy(\.isEmpty) {
            throw ValidationError("--seeds/--variant select no run of any spec")
        }
    }
}

/// The exit status of `sidenet run` and its closing line (stderr).
enum RunExit {
    /// 0: every selected run is finished (now or earlier). 128+N: stopped by signal N (130
    /// Ctrl-C, 143 SIGTERM). 1: a run failed. 75 (EX_TEMPFAIL): nothing failed but another live
    /// process holds some runs (rerun when it ends).
    static let heldElsewhere: Int32 = 75

    static func status(_ outcomes: [RunOutcome], stop: StopSignal) -> Int32 {
        if let sig = stop.signal { return StopSignals.exitStatus(sig) }
        if outcomes.contains(where: { $0.status == .failed }) { return 1 }
        if outcomes.contains(where: { $0.status == .runningElsewhere }) { return heldElsewhere }
        return 0
    }

    static func summary(_ outcomes: [RunOutcome], status: Int32) -> String {
        func count(_ s: RunOutcome.Status) -> Int { outcomes.filter { $0.status == s }.count }
        var parts = ["\(count(.finished)) finished now", "\(count(.skipped)) finished earlier"]
        if count(.runningElsewhere) > 0 { parts.append("\(count(.runningElsewhere)) held by another live process") }
        if count(.failed) > 0 { parts.append("\(count(.failed)) failed") }
        if count(.interrupted) > 0 { parts.append("\(count(.interrupted)) interrupted") }
        var line = "runs: " + parts.joined(separator: ", ")
        switch status {
        case 0: break
        case 1: line += "; exit 1 (see the reasons above)"
        case heldElsewhere: line += "; exit 75: rerun when the other process ends"
        default: line += "; exit \(status) (stopped by a signal; rerun to resume)"
        }
        return line
    }
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
