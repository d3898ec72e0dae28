import Foundation
import class Store.ResultStore
import struct Store.RunRow
import struct Store.PredictionRow
import struct Store.TimingRow
import struct Specs.ExperimentSpec

/// One finished SideNet-variant run with both splits, as `choose`, `measure` and the report's
/// choice section need it.
public struct ChooseRun: Sendable {
    public var experiment: String
    public var info: ExperimentInfo
    public var runId: Int64
    public var seed: Int
    public var numClasses: Int
    public var compute: Compute
    public var test: [Prediction]
    /// Empty for runs written before the store kept validation rows.
    public var validation: [Prediction]
    public var timings: [MeasuredTiming]

    public var context: String { "run \(experiment)/sidenet/seed \(seed)" }

    public init(experiment: String, info: ExperimentInfo, runId: Int64, seed: Int, numClasses: Int,
                compute: Compute, test: [Prediction], validation: [Prediction], timings: [MeasuredTiming] = []) {
        self.experiment = experiment; self.info = info; self.runId = runId; self.seed = seed
        self.numClasses = numClasses; self.compute = compute; self.test = test; self.validation = validation
        self.timings = timings
    }
}

/// A `timings` row (measured seconds per input beside the counted cost).
public struct MeasuredTiming: Sendable, Hashable {
    public var rule: String
    public var theta: Double
    public var inputs: Int
    public var exits: Int
    public var secondsPerInput: Double
    public var mainnetSecondsPerInput: Double
    public var paramsPerInput: Double
    public var flopsPerInput: Double
    public var accuracy: Double
    public var batchSize: Int
    public var threads: Int
    public var repeats: Int

    public init(rule: String, theta: Double, inputs: Int, exits: Int, secondsPerInput: Double,
                mainnetSecondsPerInput: Double, paramsPerInput: Double, flopsPerInput: Double, accuracy: Double,
                batchSize: Int, threads: Int, repeats: Int) {
        self.rule = rule; self.theta = theta; self.inputs = inputs; self.exits = exits
        self.secondsPerInput = secondsPerInput; self.mainnetSecondsPerInput = mainnetSecondsPerInput
        self.paramsPerInput = paramsPerInput; self.flopsPerInput = flopsPerInput; self.accuracy = accuracy
        self.batchSize = batchSize; self.threads = threads; self.repeats = repeats
    }
}

public enum ChooseReader {
    /// Finished SideNet-variant runs of the newest registration of each named experiment (nil:
    /// every experiment), sorted by experiment then seed. Unknown names are returned separately.
    public static func load(_ store: ResultStore, names: [String]? = nil) throws -> (runs: [ChooseRun], unknown: [String]) {
        var newest: [String: (id: Int64, json: String)] = [:]
        for e in try store.experiments() {
            guard let id = e.id else { continue }
            if let have = newest[e.name], have.id > id { continue }
            newest[e.name] = (id, e.specJSON)
        }
        var runs = [ChooseRun](), unknown = [String]()
        for name in names ?? newest.keys.sorted() {
            guard let e = newest[name] else { unknown.append(name); continue }
            let info = StoreReader.info(try ExperimentSpec.fromJSON(e.json))
            for run in try store.runs(experiment: e.id)
            where run.status.rawValue == "finished" && run.variant.rawValue == "sidenet" {
                runs.append(try chooseRun(run, name: name, info: info, store: store))
            }
        }
        return (runs.sorted { ($0.experiment, $0.seed) < ($1.experiment, $1.seed) }, unknown)
    }

    static func chooseRun(_ run: RunRow, name: String, info: ExperimentInfo, store: ResultStore) throws -> ChooseRun {
        func convert(_ rows: [PredictionRow]) throws -> [Prediction] {
            try rows.map { r in
                Prediction(label: r.label, sidePred: r.sidePred, sideConf: r.sideConf, mainPred: r.mainPred,
                           mainConf: r.mainConf, sideLogits: try r.sideLogitValues(), mainLogits: try r.mainLogitValues())
            }
        }
        let id = run.id!
        let compute = Compute(paramsPrefix: run.paramsPrefix ?? 0, paramsSideNet: run.paramsSidenet ?? 0,
                              paramsMainNet: run.paramsMainnet ?? 0, flopsPrefix: run.flopsPrefix ?? 0,
                              flopsSideNet: run.flopsSidenet ?? 0, flopsMainNet: run.flopsMainnet ?? 0)
        let timings = try store.timings(runId: id).map { t in
            MeasuredTiming(rule: t.rule, theta: t.theta, inputs: t.inputs, exits: t.exits,
                           secondsPerInput: t.secondsPerInput, mainnetSecondsPerInput: t.mainnetSecondsPerInput,
                           paramsPerInput: t.paramsPerInput, flopsPerInput: t.flopsPerInput, accuracy: t.accuracy,
                           batchSize: t.batchSize, threads: t.threads, repeats: t.repeats)
        }
        return ChooseRun(experiment: name, info: info, runId: id, seed: run.seed, numClasses: run.numClasses ?? 0,
                         compute: compute, test: try convert(store.predictions(runId: id)),
                         validation: try convert(store.validationPredictions(runId: id)), timings: timings)
    }
}

extension ChooseRun {
    /// Chooses theta on this run's validation rows and reports its test rows at it.
    public func choose(target: ChooseTarget, method: ChooseMethod, rule: ExitRule, delta: Double,
                       thetas: [Double] = ThetaGrid.standard()) throws -> ChooseResult {
        guard !validation.isEmpty else { throw ChooseError.noValidationRows(context: context) }
        guard !test.isEmpty else { throw ReportError.emptyRun(experiment: experiment, variant: .sidenet, seed: seed) }
        return try Chooser.run(validation: try exitOutcomes(validation, rule: rule, context: context + " validation"),
                               test: try exitOutcomes(test, rule: rule, context: context + " test"),
                               cost: PathCost(compute), target: target, method: method, rule: rule, delta: delta,
                               thetas: thetas)
    }
}
