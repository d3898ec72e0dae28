import ArgumentParser
import Foundation
import Runner
import Specs
import Tensors

/// The Ctrl-C flag the signal handler sets (a C function pointer cannot capture context).
nonisolated(unsafe) private var activeStop: StopSignal?
nonisolated(unsafe) private var interruptCount = 0

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Train and evaluate experiment specs for every seed and variant, storing each run in SQLite.",
        discussion: """
        Finished runs (same spec hash, variant and seed) are skipped; interrupted or failed runs resume \
        from their last committed epoch. Ctrl-C stops after the current batch and keeps every finished \
        epoch; a second Ctrl-C exits at once. Checkpoints and the feature cache go under --results.
        """)

    @Argument(help: "Experiment spec files (YAML), e.g. experiments/demo/*.yaml.")
    var specs: [String]

    @Option(help: "Only these seeds, comma-separated (e.g. 0,1).")
    var seeds: String?

    @Option(help: "Only this variant: sidenet or baseline.")
    var variant: String?

    @OptionGroup var database: DatabaseOption

    @Option(parsing: .unconditional, help: "Threads for OpenBLAS and sidenet's loops (default: all cores).")
    var threads: Int = Threads.count

    @Option(help: "Folder for checkpoints and the feature cache.")
    var results: String = "results"

    @Flag(help: "Rerun runs that already finished.")
    var force = false

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let v = variant, Variant(rawValue: v) == nil { throw ValidationError("--variant must be sidenet or baseline, not '\(v)'") }
        if let s = seeds, parsedSeeds(s) == nil { throw ValidationError("--seeds must be comma-separated integers, not '\(s)'") }
    }

    private func parsedSeeds(_ s: String) -> [Int]? {
        let parts = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(nil) || parts.isEmpty ? nil : parts.compactMap { $0 }
    }

    func run() throws {
        let loaded = try loadSpecs(specs)
        let store = try database.open()
        var options = RunOptions()
        options.seeds = seeds.flatMap(parsedSeeds)
        options.variants = variant.flatMap(Variant.init(rawValue:)).map { [$0] }
        options.threads = threads
        options.force = force
        options.resultsDir = URL(fileURLWithPath: results)
        options.gitCommit = currentGitCommit()
        options.progress = ProgressDisplay()
        activeStop = options.stop
        signal(SIGINT) { _ in
            interruptCount += 1
            if interruptCount > 1 { _exit(130) }
            activeStop?.request()
            let msg = "\nstopping after the current batch (Ctrl-C again to quit at once)\n"
            _ = msg.withCString { write(STDERR_FILENO, $0, strlen($0)) }
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
        if options.stop.isRequested { throw ExitCode(130) }
        if outcomes.contains(where: { $0.status == .failed }) { throw ExitCode(1) }
    }
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
