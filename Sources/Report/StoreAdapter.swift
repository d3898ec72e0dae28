import Foundation
// Selective imports: Specs and Store have their own `Variant`/`MeanStd` types.
import class Store.ResultStore
import struct Store.ExperimentRow
import struct Store.RunRow
import struct Store.PredictionRow
import struct Specs.ExperimentSpec

/// Reads what a report needs from the results database: the newest registration of each
/// experiment (its spec gives the label, figure, synthetic flag and the paper's numbers), every
/// finished run with its per-example predictions, and the (experiment, variant) pairs the specs
/// expect — so missing runs are reported by name.
public enum StoreReader {
    public struct Loaded {
        public var runs: [RunResult]
        public var experiments: [ExperimentInfo]
        public var expected: [(experiment: String, variant: Variant)]
        /// Requested experiment names the database does not hold.
        public var unknown: [String]
    }

    /// - Parameter names: experiments to include (nil: all in the database).
    public static func load(_ store: ResultStore, names: [String]? = nil) throws -> Loaded {
        var newest: [String: ExperimentRow] = [:]
        for e in try store.experiments() {
            if let have = newest[e.name], (have.id ?? 0) > (e.id ?? 0) { continue }
            newest[e.name] = e
        }
        let wanted = names ?? newest.keys.sorted()
        var out = Loaded(runs: [], experiments: [], expected: [], unknown: [])
        for name in wanted {
            guard let row = newest[name], let id = row.id else {
                out.unknown.append(name)
                out.expected.append((name, .sidenet))
                out.expected.append((name, .baseline))
                continue
            }
            let spec: ExperimentSpec
            do {
                spec = try ExperimentSpec.fromJSON(row.specJSON)
                try spec.validate()
            } catch {
                throw ReportError.invalidStoredSpec(experiment: name, id: id, detail: "\(error)")
            }
            var i = info(spec)
            i.name = name  // runs are keyed by the registered name
            out.experiments.append(i)
            for v in spec.variants { out.expected.append((name, v.rawValue == "sidenet" ? .sidenet : .baseline)) }
            for run in try store.runs(experiment: id) where run.status.rawValue == "finished" {
                out.runs.append(try result(run, name: name, store: store))
            }
        }
        return out
    }

    static func info(_ spec: ExperimentSpec) -> ExperimentInfo {
        let p = spec.paper
        func ms(_ m: Double?, _ s: Double?) -> MeanStd? { m.map { MeanStd(mean: $0, std: s ?? 0) } }
        let paper = PaperNumbers(
            table2SideNet: ms(p?.table2?.sidenet.mean, p?.table2?.sidenet.std),
            table2Baseline: ms(p?.table2?.baseline.mean, p?.table2?.baseline.std),
            table1SideNetECE: ms(p?.table1?.sidenetECE.mean, p?.table1?.sidenetECE.std),
            table1MainNetECE: ms(p?.table1?.mainnetECE.mean, p?.table1?.mainnetECE.std))
        let cifar = spec.data.dataset.rawValue == "cifar10"
        let figure = p?.figure ?? (cifar ? 2 : 4)
        let e = spec.evaluation.ece
        return ExperimentInfo(name: spec.name, label: p?.label ?? spec.name, figure: figure,
                              synthetic: spec.data.synthetic, paper: paper,
                              ece: ECEBins(bins: e.bins, low: e.low, high: e.high),
                              reliability: p?.reliability ?? false, dataset: cifar ? "CIFAR-10" : "SST-2")
    }

    static func result(_ run: RunRow, name: String, store: ResultStore) throws -> RunResult {
        let preds = try store.predictions(runId: run.id!).map { r in
            Prediction(label: r.label, sidePred: r.sidePred, sideConf: r.sideConf, mainPred: r.mainPred,
                       mainConf: r.mainConf, sideLogits: try r.sideLogitValues(), mainLogits: try r.mainLogitValues())
        }
        let compute = Compute(paramsPrefix: run.paramsPrefix ?? 0, paramsSideNet: run.paramsSidenet ?? 0,
                              paramsMainNet: run.paramsMainnet ?? 0, flopsPrefix: run.flopsPrefix ?? 0,
                              flopsSideNet: run.flopsSidenet ?? 0, flopsMainNet: run.flopsMainnet ?? 0)
        return RunResult(experiment: name, variant: run.variant.rawValue == "sidenet" ? .sidenet : .baseline,
                         seed: run.seed, numClasses: run.numClasses ?? 0, compute: compute, predictions: preds)
    }
}
