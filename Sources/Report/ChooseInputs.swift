import Foundation
import class Store.ResultStore
import struct Store.RunRow
import struct Store.PredictionRow
import struct Store.TimingRow

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
    public var timings: [TimingRow]

    public var context: String { "run \(experiment)/sidenet/seed \(seed)" }

    public init(experiment: String, info: ExperimentInfo, runId: Int64, seed: Int, numClasses: Int,
                compute: Compute, test: [Prediction], validation: [Prediction], timings: [TimingRow] = []) {
        self.experiment = experiment; self.info = info; self.runId = runId; self.seed = seed
        self.numClasses = numClasses; self.compute = compute; self.test = test; self.validation = validation
        self.timings = timings
    }
}

public enum ChooseReader {
    /// Finished SideNet-variant runs of the newest registration of each named experiment (nil:
    /// every experiment), sorted by experiment then seed. Unknown names are returned separately.
    public static func load(_ store: ResultStore, names: [String]? = nil) throws -> (runs: [ChooseRun], unknown: [String]) {
        let newest = try StoreReader.newest(store)
        var runs = [ChooseRun](), unknown = [String]()
        for name in names ?? newest.keys.sorted() {
            guard let e = newest[name], let id = e.id else { unknown.append(name); continue }
            let info = StoreReader.info(try store.experimentInfo(e), name: name)
            for run in try store.runs(experiment: id)
            where run.status.rawValue == "finished" && run.variant.rawValue == "sidenet" {
                runs.append(try chooseRun(run, name: name, info: info, store: store))
            }
        }
        return (runs.sorted { ($0.experiment, $0.seed) < ($1.experiment, $1.seed) }, unknown)
    }

    static func chooseRun(_ run: RunRow, name: String, info: ExperimentInfo, store: ResultStore) throws -> ChooseRun {
        let id = run.id!
        return ChooseRun(experiment: name, info: info, runId: id, seed: run.seed, numClasses: run.numClasses ?? 0,
                         compute: StoreReader.compute(run), test: try StoreReader.predictions(store.predictions(runId: id)),
                         validation: try StoreReader.predictions(store.validationPredictions(runId: id)),
                         timings: try store.timings(runId: id))
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
