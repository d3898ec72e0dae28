/// `evaluation.ece`: the paper's ECE variant (formats.md 8.2): `bins` equal bins on [low, high].
public struct ECESpec: Codable, Equatable, Sendable {
    public var bins: Int
    public var low: Double
    public var high: Double
    public init(bins: Int = 8, low: Double = 0.2, high: Double = 1.0) {
        self.bins = bins; self.low = low; self.high = high
    }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: ["bins", "low", "high"])
        self.init(bins: try m.value("bins", default: 8) { try $0.int() },
                  low: try m.value("low", default: 0.2) { try $0.double() },
                  high: try m.value("high", default: 1.0) { try $0.double() })
    }
}

/// `evaluation:` section (optional; defaults shown by `EvaluationSpec()`).
public struct EvaluationSpec: Codable, Equatable, Sendable {
    public var ece: ECESpec
    /// Batch size for validation and test passes (no effect on results).
    public var batchSize: Int

    enum CodingKeys: String, CodingKey, CaseIterable { case ece, batchSize = "batch_size" }

    public init(ece: ECESpec = ECESpec(), batchSize: Int = 256) { self.ece = ece; self.batchSize = batchSize }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: CodingKeys.allCases.map { $0.rawValue })
        self.init(ece: try m.value("ece", default: ECESpec()) { try ECESpec($0) },
                  batchSize: try m.value("batch_size", default: 256) { try $0.int() })
    }
}

/// A reported value "mean ± std" (5 runs in the paper).
public struct MeanStd: Codable, Equatable, Sendable {
    public var mean: Double
    public var std: Double
    public init(mean: Double, std: Double) { self.mean = mean; self.std = std }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: ["mean", "std"])
        self.init(mean: try m.required("mean") { try $0.double() }, std: try m.required("std") { try $0.double() })
    }
}

/// Table 2: MainNet test accuracy (%) trained with / without a SideNet.
public struct Table2Spec: Codable, Equatable, Sendable {
    public var sidenet: MeanStd
    public var baseline: MeanStd
    public init(sidenet: MeanStd, baseline: MeanStd) { self.sidenet = sidenet; self.baseline = baseline }
}

/// Table 1: ECE of the SideNet and of the MainNet, as printed in the paper.
public struct Table1Spec: Codable, Equatable, Sendable {
    public var sidenetECE: MeanStd
    public var mainnetECE: MeanStd
    enum CodingKeys: String, CodingKey { case sidenetECE = "sidenet_ece", mainnetECE = "mainnet_ece" }
    public init(sidenetECE: MeanStd, mainnetECE: MeanStd) { self.sidenetECE = sidenetECE; self.mainnetECE = mainnetECE }
}

/// `paper:` section: where the experiment appears in the paper and the numbers it reports.
/// Does not influence training (excluded from `specHash`).
public struct PaperSpec: Codable, Equatable, Sendable {
    /// Figure number of the accuracy-vs-parameters plot (2: ResNets, 4: transformers).
    public var figure: Int?
    /// Series label used in the paper's figures and tables.
    public var label: String
    public var table2: Table2Spec?
    public var table1: Table1Spec?
    /// Draw this experiment's reliability diagram (the paper's Figure 3: ResNet50). Default false.
    public var reliability: Bool

    enum CodingKeys: String, CodingKey { case figure, label, table2, table1, reliability }

    public init(figure: Int? = nil, label: String, table2: Table2Spec? = nil, table1: Table1Spec? = nil,
                reliability: Bool = false) {
        self.figure = figure; self.label = label; self.table2 = table2; self.table1 = table1
        self.reliability = reliability
    }

    /// Reads a stored spec; `reliability` is absent from specs stored before it existed.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(figure: try c.decodeIfPresent(Int.self, forKey: .figure),
                  label: try c.decode(String.self, forKey: .label),
                  table2: try c.decodeIfPresent(Table2Spec.self, forKey: .table2),
                  table1: try c.decodeIfPresent(Table1Spec.self, forKey: .table1),
                  reliability: try c.decodeIfPresent(Bool.self, forKey: .reliability) ?? false)
    }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: ["figure", "label", "table2", "table1", "reliability"])
        self.init(
            figure: try m.optional("figure") { try $0.int() },
            label: try m.required("label") { try $0.string() },
            table2: try m.optional("table2") { t in
                let tm = try t.mapping(allowed: ["sidenet", "baseline"])
                return Table2Spec(sidenet: try tm.required("sidenet") { try MeanStd($0) },
                                  baseline: try tm.required("baseline") { try MeanStd($0) })
            },
            table1: try m.optional("table1") { t in
                let tm = try t.mapping(allowed: ["sidenet_ece", "mainnet_ece"])
                return Table1Spec(sidenetECE: try tm.required("sidenet_ece") { try MeanStd($0) },
                                  mainnetECE: try tm.required("mainnet_ece") { try MeanStd($0) })
            },
            reliability: try m.value("reliability", default: false) { try $0.bool() })
    }
}
