// Plain input records of the pure report functions. `StoreReader` fills them from the store's
// `experiment_info`, `runs` and `predictions` tables (the report never sees a spec); tests
// build them directly.

/// Which model a run trained: MainNet with a SideNet attached, or the MainNet alone.
public enum Variant: String, Sendable, Hashable, CaseIterable, Codable {
    case sidenet
    case baseline
}

/// Parameter and FLOP counts of one run's model parts (store columns `params_*`, `flops_*`).
///
/// `paramsMainNet` / `flopsMainNet` are the whole MainNet including its head; the prefix (the
/// MainNet layers up to the SideNet's attachment point) is part of it.
public struct Compute: Sendable, Hashable, Codable {
    public var paramsPrefix: Int
    public var paramsSideNet: Int
    public var paramsMainNet: Int
    public var flopsPrefix: Int
    public var flopsSideNet: Int
    public var flopsMainNet: Int

    public init(paramsPrefix: Int, paramsSideNet: Int, paramsMainNet: Int,
                flopsPrefix: Int, flopsSideNet: Int, flopsMainNet: Int) {
        self.paramsPrefix = paramsPrefix
        self.paramsSideNet = paramsSideNet
        self.paramsMainNet = paramsMainNet
        self.flopsPrefix = flopsPrefix
        self.flopsSideNet = flopsSideNet
        self.flopsMainNet = flopsMainNet
    }
}

/// One test example's outputs (a `predictions` row). The `side*` fields are nil for the
/// baseline variant. Confidences are the max class probability (for a single sigmoid logit:
/// max(p, 1 - p)). Logits may be empty when the store did not keep them; the ensemble column
/// is then unavailable.
public struct Prediction: Sendable, Hashable, Codable {
    public var label: Int
    public var sidePred: Int?
    public var sideConf: Double?
    public var mainPred: Int
    public var mainConf: Double
    public var sideLogits: [Float]?
    public var mainLogits: [Float]

    public init(label: Int, sidePred: Int?, sideConf: Double?, mainPred: Int, mainConf: Double,
                sideLogits: [Float]?, mainLogits: [Float]) {
        self.label = label
        self.sidePred = sidePred
        self.sideConf = sideConf
        self.mainPred = mainPred
        self.mainConf = mainConf
        self.sideLogits = sideLogits
        self.mainLogits = mainLogits
    }
}

/// One finished run (a `runs` row plus its predictions on the test set).
public struct RunResult: Sendable, Codable {
    public var experiment: String
    public var variant: Variant
    public var seed: Int
    public var numClasses: Int
    public var compute: Compute
    public var predictions: [Prediction]

    public init(experiment: String, variant: Variant, seed: Int, numClasses: Int,
                compute: Compute, predictions: [Prediction]) {
        self.experiment = experiment
        self.variant = variant
        self.seed = seed
        self.numClasses = numClasses
        self.compute = compute
        self.predictions = predictions
    }
}

/// A mean and a standard deviation (as printed in the paper: `mean ± std`).
public struct MeanStd: Sendable, Hashable, Codable {
    public var mean: Double
    public var std: Double
    public init(mean: Double, std: Double) {
        self.mean = mean
        self.std = std
    }
}

/// The paper's numbers for one experiment (spec `paper:` section). Accuracies in percent,
/// Table 1's values as printed (e.g. `.30 ± .06`); they read as the unweighted 8-bin gap sum
/// (a fraction), not as a weighted ECE in percent (see Table1.swift and issue 15).
public struct PaperNumbers: Sendable, Hashable, Codable {
    /// Table 2: MainNet test accuracy (%) trained with a SideNet.
    public var table2SideNet: MeanStd?
    /// Table 2: MainNet test accuracy (%) trained without a SideNet.
    public var table2Baseline: MeanStd?
    /// Table 1 (the paper prints it for its CIFAR-10 MainNets): SideNet ECE as printed.
    public var table1SideNetECE: MeanStd?
    /// Table 1: MainNet ECE as printed.
    public var table1MainNetECE: MeanStd?

    public init(table2SideNet: MeanStd? = nil, table2Baseline: MeanStd? = nil,
                table1SideNetECE: MeanStd? = nil, table1MainNetECE: MeanStd? = nil) {
        self.table2SideNet = table2SideNet
        self.table2Baseline = table2Baseline
        self.table1SideNetECE = table1SideNetECE
        self.table1MainNetECE = table1MainNetECE
    }
}

/// The spec's `evaluation.ece`: `bins` equal bins on [low, high] for the ECE of Table 1, the
/// calibration CSV and Figure 3.
public struct ECEBins: Sendable, Hashable, Codable {
    public var bins: Int
    public var low: Double
    public var high: Double
    public init(bins: Int = 8, low: Double = 0.2, high: Double = 1.0) {
        self.bins = bins
        self.low = low
        self.high = high
    }
    /// The binning scheme (left-closed bins, out-of-range confidences merged into the end bins).
    public var scheme: BinScheme { .paper(bins: bins, low: low, high: high) }
}

/// What the report needs to know about one experiment (its `experiment_info` row).
public struct ExperimentInfo: Sendable, Hashable, Codable {
    /// Experiment name as in the store (`runs.experiment`).
    public var name: String
    /// Display label, e.g. "ResNet18", "BERT-base".
    public var label: String
    /// Paper figure of the accuracy-vs-compute plot the experiment is drawn in (`paper.figure`;
    /// 2: CIFAR-10 ResNets, 4: SST-2 transformers in the paper; any number draws that figure).
    public var figure: Int
    /// True when the runs used generated stand-in data instead of the real dataset.
    public var synthetic: Bool
    /// The paper's numbers, printed beside ours.
    public var paper: PaperNumbers
    /// ECE binning (`evaluation.ece`).
    public var ece: ECEBins
    /// True when the experiment is drawn in a reliability diagram (Figure 3; `paper.reliability`).
    public var reliability: Bool
    /// Dataset display name ("CIFAR-10", "SST-2"); nil: named after the figure.
    public var dataset: String?

    public init(name: String, label: String, figure: Int, synthetic: Bool, paper: PaperNumbers,
                ece: ECEBins = ECEBins(), reliability: Bool = false, dataset: String? = nil) {
        self.name = name
        self.label = label
        self.figure = figure
        self.synthetic = synthetic
        self.paper = paper
        self.ece = ece
        self.reliability = reliability
        self.dataset = dataset
    }
}
