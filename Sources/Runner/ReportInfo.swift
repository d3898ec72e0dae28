import Specs
import Store

// What the runner records for the report when it registers an experiment: the spec's display
// facts as a typed store row (`experiment_info`), so the report never decodes specs.

extension ExperimentSpec {
    /// The `experiment_info` row of this spec: `paper.label` (else the name), the dataset's
    /// display name, `paper.figure` (default: 2 for CIFAR-10, 4 for SST-2, the paper's figures;
    /// README "Experiment specs"), `paper.reliability`, `data.synthetic`, `evaluation.ece` and
    /// the paper's Table 1 and 2 numbers.
    public var reportInfo: ExperimentInfoRow {
        let p = paper
        func pair(_ m: MeanStd?) -> (mean: Double, std: Double)? { m.map { ($0.mean, $0.std) } }
        let e = evaluation.ece
        return ExperimentInfoRow(
            label: p?.label ?? name, dataset: data.dataset.displayName,
            figure: p?.figure ?? data.dataset.defaultFigure, reliability: p?.reliability ?? false,
            synthetic: data.synthetic, eceBins: e.bins, eceLow: e.low, eceHigh: e.high,
            paperTable2Sidenet: pair(p?.table2?.sidenet), paperTable2Baseline: pair(p?.table2?.baseline),
            paperTable1SidenetECE: pair(p?.table1?.sidenetECE), paperTable1MainnetECE: pair(p?.table1?.mainnetECE))
    }
}

extension DatasetName {
    /// Name in tables and figure titles.
    var displayName: String {
        switch self {
        case .cifar10: return "CIFAR-10"
        case .sst2: return "SST-2"
        }
    }

    /// The paper's accuracy figure of the dataset, for specs without `paper.figure`.
    var defaultFigure: Int {
        switch self {
        case .cifar10: return 2
        case .sst2: return 4
        }
    }
}
