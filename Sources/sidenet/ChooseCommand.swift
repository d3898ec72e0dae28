import ArgumentParser
import Foundation
import Report
import Specs

struct ChooseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "choose",
        abstract: "Choose θ on the validation split only, then report the test split at that θ.",
        discussion: """
            Give exactly one target: --max-accuracy-drop PTS (points below the MainNet alone) or
            --max-params-per-input N. naive: the cheapest θ meeting the target on validation (no
            guarantee). ltt: Learn then Test (fixed-sequence testing, exact binomial p-values): with
            probability ≥ 1 − δ the target holds on new data from the same distribution. θ is chosen
            per run (seed); --seed picks one (default: the smallest finished seed).
            """)

    @Argument(help: "Experiment name (as stored in the database) or its spec file.")
    var experiment: String

    @Option(help: "Largest accepted accuracy drop against the MainNet alone, in percentage points.")
    var maxAccuracyDrop: Double?

    @Option(help: "Largest accepted average parameters per input.")
    var maxParamsPerInput: Double?

    @Option(help: "Risk level δ of the ltt guarantee (holds with probability ≥ 1 − δ).")
    var delta: Double = 0.1

    @Option(help: "naive or ltt.")
    var method: String = "ltt"

    @Option(help: "Exit rule: maxsoftmax (the paper's), entropy or margin.")
    var rule: String = "maxsoftmax"

    @Option(help: "Seed of the run to use (default: the smallest finished seed).")
    var seed: Int?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var database: DatabaseOption

    func validate() throws {
        if (maxAccuracyDrop == nil) == (maxParamsPerInput == nil) {
            throw ValidationError("give exactly one of --max-accuracy-drop and --max-params-per-input")
        }
        guard ChooseMethod(rawValue: method) != nil else { throw ValidationError("--method must be naive or ltt, not \(method)") }
        guard ExitRule(rawValue: rule) != nil else {
            throw ValidationError("--rule must be one of \(ExitRule.allCases.map(\.rawValue).joined(separator: ", ")), not \(rule)")
        }
    }

    func run() throws {
        let run = try selectRun(experiment: experiment, seed: seed, database: database)
        let target: ChooseTarget = maxAccuracyDrop.map { .maxAccuracyDrop($0) } ?? .maxParamsPerInput(maxParamsPerInput!)
        let result: ChooseResult
        do {
            result = try run.choose(target: target, method: ChooseMethod(rawValue: method)!,
                                    rule: ExitRule(rawValue: rule)!, delta: delta)
        } catch let e as ChooseError {
            throw ChooseFailure("choose: \(e)")
        }
        if json {
            print(try chooseJSON(result, run: run))
        } else {
            printText(result, run: run)
        }
    }

    private func printText(_ r: ChooseResult, run: ChooseRun) {
        let synthetic = run.info.synthetic ? " — synthetic stand-in data" : ""
        print("\(run.experiment) seed \(run.seed)\(synthetic): θ chosen on \(r.val.inputs) validation inputs, "
              + "method \(r.method.rawValue), rule \(r.rule.rawValue), target \(r.target.phrase)")
        print("θ = " + (r.theta.map { String(format: "%.2f", $0) } ?? "none (no early exit)"))
        print(r.guarantee)
        func line(_ name: String, _ m: SplitMetrics) {
            print(pad(name, 12) + pad(String(format: "%.2f", m.accuracyPct), 11)
                  + pad(String(format: "%.2f", m.mainnetAccuracyPct), 11) + pad(String(format: "%+.2f", m.dropPts), 9)
                  + pad(String(format: "%.3f", m.exitRate), 11) + pad(String(format: "%.6g", m.paramsPerInput), 15)
                  + String(format: "%.6g", m.flopsPerInput))
        }
        print(pad("split", 12) + pad("acc %", 11) + pad("MainNet %", 11) + pad("drop", 9) + pad("exit rate", 11)
              + pad("params/input", 15) + "FLOPs/input")
        line("validation", r.val)
        line("test", r.test)
    }
}

/// The finished SideNet run of `experiment` with `seed` (default: smallest seed); one-line errors.
func selectRun(experiment: String, seed: Int?, database: DatabaseOption) throws -> ChooseRun {
    guard FileManager.default.fileExists(atPath: database.db) else {
        throw ChooseFailure("database not found: \(database.db)")
    }
    var experiment = experiment
    if experiment.hasSuffix(".yaml") || experiment.hasSuffix(".yml") {
        guard FileManager.default.fileExists(atPath: experiment) else { throw ChooseFailure("spec file not found: \(experiment)") }
        experiment = try ExperimentSpec.load(URL(fileURLWithPath: experiment)).name
    }
    let loaded = try ChooseReader.load(try database.open(), names: [experiment])
    guard loaded.unknown.isEmpty else { throw ChooseFailure("experiment \(experiment) is not in \(database.db)") }
    guard !loaded.runs.isEmpty else {
        throw ChooseFailure("experiment \(experiment) has no finished sidenet-variant run in \(database.db)")
    }
    if let seed {
        guard let r = loaded.runs.first(where: { $0.seed == seed }) else {
            throw ChooseFailure("experiment \(experiment) has no finished sidenet run with seed \(seed) "
                                  + "(seeds: \(loaded.runs.map { "\($0.seed)" }.joined(separator: ", ")))")
        }
        return r
    }
    return loaded.runs[0]
}

func chooseJSON(_ r: ChooseResult, run: ChooseRun) throws -> String {
    func split(_ m: SplitMetrics) -> [String: Any] {
        ["accuracy_pct": m.accuracyPct, "mainnet_accuracy_pct": m.mainnetAccuracyPct, "exit_rate": m.exitRate,
         "params_per_input": m.paramsPerInput, "flops_per_input": m.flopsPerInput, "inputs": m.inputs,
         "drop_pts": m.dropPts]
    }
    var target: [String: Any] = [:]
    switch r.target {
    case .maxAccuracyDrop(let a): target["max_accuracy_drop_pts"] = a
    case .maxParamsPerInput(let n): target["max_params_per_input"] = n
    }
    let object: [String: Any] = [
        "theta": r.theta.map { $0 as Any } ?? NSNull(), "method": r.method.rawValue, "delta": r.delta,
        "rule": r.rule.rawValue, "experiment": run.experiment, "seed": run.seed, "synthetic": run.info.synthetic,
        "target": target, "guarantee": r.guarantee, "val": split(r.val), "test": split(r.test)]
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// A run-time failure of `choose`/`measure`: printed as one line ("Error: ..."), exit status 1.
struct ChooseFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
