import ArgumentParser
import Foundation
import Report
import Runner
import Specs
import Store
import Tensors

struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Time real batch-compacted early exit on the test split at a few θ and store seconds per input.",
        discussion: """
            Loads the best checkpoint of a finished SideNet run (spec and checkpoint path from the
            database), runs the test split with real early exit (the MainNet remainder only for inputs
            whose SideNet max-softmax confidence is below θ) and the MainNet alone, each --repeats
            times, and records the median seconds per input beside the counted parameters and FLOPs
            per input in the database's timings table (`sidenet report` reads them). θ: --thetas plus
            the θ chosen by naive and ltt for --max-accuracy-drop on the validation split.
            Timings depend on the machine and its load: compare ratios within one session.
            """)

    @Argument(help: "Experiment name (as stored in the database) or its spec file.")
    var experiment: String

    @Option(parsing: .upToNextOption, help: "Thresholds to time (default 0.5 0.8 0.9 0.95).")
    var thetas: [Double] = [0.5, 0.8, 0.9, 0.95]

    @Option(help: "Also time the θ chosen for this accuracy drop (points) by naive and ltt; 0 turns it off.")
    var maxAccuracyDrop: Double = 1

    @Option(help: "Risk level δ of the ltt choice.")
    var delta: Double = 0.1

    @Option(help: "Seed of the run (default: the smallest finished seed).")
    var seed: Int?

    @Option(help: "Passes over the test split per θ (the median is stored).")
    var repeats: Int = 3

    @Option(help: "Compute threads (recorded with each timing).")
    var threads: Int = Threads.count

    @OptionGroup var database: DatabaseOption

    func validate() throws {
        for t in thetas where !(t.isFinite && t >= 0 && t <= 1) { throw ValidationError("--thetas must lie in [0, 1], not \(t)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, not \(repeats)") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, not \(threads)") }
    }

    func run() throws {
        let run = try selectRun(experiment: experiment, seed: seed, database: database)
        let store = try database.open()
        guard let runRow = try store.run(id: run.runId), let expRow = try store.experiment(id: runRow.experimentId) else {
            throw ChooseFailure("run \(run.runId) vanished from \(database.db)")
        }
        guard let best = try store.checkpoint(runId: run.runId, kind: .best) else {
            throw ChooseFailure("\(run.context) has no best checkpoint in \(database.db)")
        }
        guard FileManager.default.fileExists(atPath: best.path) else {
            throw ChooseFailure("\(run.context): best checkpoint not found: \(best.path)")
        }
        var all = thetas
        if maxAccuracyDrop > 0, !run.validation.isEmpty {
            for m in ChooseMethod.allCases {
                do {
                    let r = try run.choose(target: .maxAccuracyDrop(maxAccuracyDrop), method: m, rule: .maxsoftmax, delta: delta)
                    if let t = r.theta { all.append(t) }
                } catch let e as ChooseError { throw ChooseFailure("measure: \(e)") }
            }
        } else if maxAccuracyDrop > 0 {
            printError("measure: \(run.context) has no validation predictions; timing --thetas only")
        }
        all = Array(Set(all)).sorted()
        let spec = try ExperimentSpec.fromJSON(expRow.specJSON)
        Threads.set(threads)
        let timings = try Runner.measureEarlyExit(spec: spec, checkpoint: URL(fileURLWithPath: best.path), thetas: all,
                                                  baseDir: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                                                  repeats: repeats, progress: ProgressDisplay())
        let test = try exitOutcomes(run.test, rule: .maxsoftmax, context: run.context + " test")
        let cost = PathCost(run.compute)
        var rows = [TimingRow]()
        print("\(run.experiment) seed \(run.seed)" + (run.info.synthetic ? " — synthetic stand-in data" : "")
              + ": measured on this machine (shared CPU: compare ratios), counted as in the sweeps")
        print(pad("θ", 7) + pad("exit rate", 11) + pad("measured ms/input", 19) + pad("MainNet ms/input", 18)
              + pad("counted params/input", 22) + "counted FLOPs/input")
        for t in timings {
            let counted = SplitMetrics(ThetaTable.counts(test, theta: t.theta), cost: cost)
            rows.append(TimingRow(runId: run.runId, rule: ExitRule.maxsoftmax.rawValue, theta: t.theta, inputs: t.inputs,
                                  exits: t.exits, secondsPerInput: t.secondsPerInput,
                                  mainnetSecondsPerInput: t.mainnetSecondsPerInput, paramsPerInput: counted.paramsPerInput,
                                  flopsPerInput: counted.flopsPerInput, accuracy: t.accuracy,
                                  batchSize: spec.evaluation.batchSize, threads: threads, repeats: repeats,
                                  host: ProcessInfo.processInfo.hostName))
            print(pad(String(format: "%.2f", t.theta), 7) + pad(String(format: "%.3f", Double(t.exits) / Double(max(t.inputs, 1))), 11)
                  + pad(String(format: "%.4g", 1000 * t.secondsPerInput), 19) + pad(String(format: "%.4g", 1000 * t.mainnetSecondsPerInput), 18)
                  + pad(String(format: "%.6g", counted.paramsPerInput), 22) + String(format: "%.6g", counted.flopsPerInput))
        }
        try store.recordTimings(rows)
        print("stored \(rows.count) timings in \(database.db)")
    }
}
