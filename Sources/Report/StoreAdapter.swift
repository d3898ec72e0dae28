import Foundation
// Selective imports: Store's names stay out of the report's namespace.
import class Store.ResultStore
import struct Store.ExperimentRow
import struct Store.ExperimentInfoRow
import struct Store.RunRow
import struct Store.PredictionRow

/// Reads what a report needs from the results database: the newest registration of each
/// experiment with its `experiment_info` row (label, figure, synthetic flag, ECE bins and the
/// paper's numbers), and every finished run with its per-example predictions. Experiments named
/// but not in the database are returned so they are reported as missing by name.
public enum StoreReader {
    public struct Loaded {
        public var runs: [RunResult]
        public var experiments: [ExperimentInfo]
        /// Both variants of every requested experiment (known or not).
        public var expected: [(experiment: String, variant: Variant)]
        /// Requested experiment names the database does not hold.
        public var unknown: [String]
    }

    /// The newest registration (highest id) of each experiment name.
    static func newest(_ store: ResultStore) throws -> [String: ExperimentRow] {
        var newest: [String: ExperimentRow] = [:]
        for e in try store.experiments() {
            if let have = newest[e.name], (have.id ?? 0) > (e.id ?? 0) { continue }
            newest[e.name] = e
        }
        return newest
    }

    /// - Parameter names: experiments to include (nil: all in the database).
    public static func load(_ store: ResultStore, names: [String]? = nil) throws -> Loaded {
        let newest = try newest(store)
        var out = Loaded(runs: [], experiments: [], expected: [], unknown: [])
        for name in names ?? newest.keys.sorted() {
            guard let row = newest[name], let id = row.id else {
                out.unknown.append(name)
                out.expected += Variant.allCases.map { (name, $0) }
                continue
            }
            out.expected += Variant.allCases.map { (name, $0) }
            out.experiments.append(info(try store.experimentInfo(row), name: name))
            for run in try store.runs(experiment: id) where run.status.rawValue == "finished" {
                out.runs.append(try result(run, name: name, store: store))
            }
        }
        return out
    }

    /// The report's view of a stored `experiment_info` row.
    static func info(_ r: ExperimentInfoRow, name: String) -> ExperimentInfo {
        func ms(_ m: Double?, _ s: Double?) -> MeanStd? { m.map { MeanStd(mean: $0, std: s ?? 0) } }
        let paper = PaperNumbers(
            table2SideNet: ms(r.paperTable2SidenetMean, r.paperTable2SidenetStd),
            table2Baseline: ms(r.paperTable2BaselineMean, r.paperTable2BaselineStd),
            table1SideNetECE: ms(r.paperTable1SidenetEceMean, r.paperTable1SidenetEceStd),
            table1MainNetECE: ms(r.paperTable1MainnetEceMean, r.paperTable1MainnetEceStd))
        return ExperimentInfo(name: name, label: r.label, figure: r.figure, synthetic: r.synthetic, paper: paper,
                              ece: ECEBins(bins: r.eceBins, low: r.eceLow, high: r.eceHigh),
                              reliability: r.reliability, dataset: r.dataset.isEmpty ? nil : r.dataset)
    }

    static func predictions(_ rows: [PredictionRow]) throws -> [Prediction] {
        try rows.map { r in
            Prediction(label: r.label, sidePred: r.sidePred, sideConf: r.sideConf, mainPred: r.mainPred,
                       mainConf: r.mainConf, sideLogits: try r.sideLogitValues(), mainLogits: try r.mainLogitValues())
        }
    }

    static func compute(_ run: RunRow) -> Compute {
        Compute(paramsPrefix: run.paramsPrefix ?? 0, paramsSideNet: run.paramsSidenet ?? 0,
                paramsMainNet: run.paramsMainnet ?? 0, flopsPrefix: run.flopsPrefix ?? 0,
                flopsSideNet: run.flopsSidenet ?? 0, flopsMainNet: run.flopsMainnet ?? 0)
    }

    static func result(_ run: RunRow, name: String, store: ResultStore) throws -> RunResult {
        RunResult(experiment: name, variant: run.variant.rawValue == "sidenet" ? .sidenet : .baseline,
                  seed: run.seed, numClasses: run.numClasses ?? 0, compute: compute(run),
                  predictions: try predictions(store.predictions(runId: run.id!)))
    }
}
