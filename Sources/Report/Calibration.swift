// Expected calibration error (formats.md section 8) and reliability-diagram bins.
//
// Two kinds of binning:
// - paper: `bins` equal bins over [low, high] (the spec's `evaluation.ece`; the paper's 8 bins
//   over [0.2, 1.0] by default): [0.2,0.3), [0.3,0.4), ..., [0.8,0.9), [0.9,1.0] (left-closed,
//   last bin closed). Interior edges go to the upper bin (0.5 -> [0.5,0.6)). Confidences below
//   `low` are merged into the first bin (effectively [0,0.3)) and confidences above `high` into
//   the last one, so the ECE stays a weighted average over all n; their numbers are reported as
//   `belowRange` and `aboveRange`. Binning compares against explicit Double edges, each the
//   correctly rounded decimal (0.3, not 0.2 + 0.1), never floor((c - 0.2) / 0.1), which in
//   Double misplaces 0.3, 0.5 and 0.9.
// - guo: 15 bins ((m-1)/15, m/15] (gpleiss `_ECELoss`: conf > lower && conf <= upper);
//   confidence 0 goes to the first bin.
// Confidences are used as given, in Double: a Float32-rounded 0.7 (0.699999988) is below the
// 0.7 edge and lands in [0.6, 0.7). ECE is returned as a fraction and in percent, beside the
// unweighted sum of the per-bin gaps (issue 15: the magnitude of the paper's Table 1).

/// A binning scheme for ECE and reliability diagrams.
public struct BinScheme: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Left-closed bins, last bin closed; out-of-range confidences merged into the end bins.
        case paper
        /// Guo et al. / gpleiss (lo, hi] bins over [0, 1].
        case guo
    }
    public let kind: Kind
    public let binCount: Int
    public let low: Double
    public let high: Double
    /// Bin edges (count + 1 values), each the correctly rounded decimal edge.
    public let edges: [Double]

    init(kind: Kind, binCount: Int, low: Double, high: Double) {
        self.kind = kind
        self.binCount = binCount
        self.low = low
        self.high = high
        edges = (0...binCount).map { i in
            // Guo's edges are m / 15 exactly as gpleiss computes them (linspace), not decimals.
            if kind == .guo { return low + (high - low) * Double(i) / Double(binCount) }
            if i == 0 { return low }
            if i == binCount { return high }
            let x = low + (high - low) * Double(i) / Double(binCount)
            return Double(String(format: "%.12g", x)) ?? x
        }
    }

    /// `bins` equal left-closed bins on [low, high] (the spec's `evaluation.ece`).
    /// Requires bins >= 1 and 0 <= low < high <= 1 (the spec validates these).
    public static func paper(bins: Int, low: Double, high: Double) -> BinScheme {
        BinScheme(kind: .paper, binCount: bins, low: low, high: high)
    }
    /// The paper's 8 bins over [0.2, 1.0].
    public static let paper8 = BinScheme.paper(bins: 8, low: 0.2, high: 1.0)
    /// Guo et al. / gpleiss 15 bins over [0, 1], (lo, hi].
    public static let guo15 = BinScheme(kind: .guo, binCount: 15, low: 0, high: 1)
    /// The two default schemes.
    public static let allCases: [BinScheme] = [.paper8, .guo15]

    /// Name in CSV files: "paper8", "guo15", or e.g. "paper10_0.1-0.9" for other ranges.
    public var rawValue: String {
        let base = "\(kind.rawValue)\(binCount)"
        if kind == .guo || (low == 0.2 && high == 1.0) { return base }
        return "\(base)_\(ReportTable.short(low))-\(ReportTable.short(high))"
    }
    public var description: String { rawValue }

    /// Human description, e.g. "8 equal bins on [0.2, 1]".
    public var phrase: String {
        "\(binCount) equal bins on [\(ReportTable.short(low)), \(ReportTable.short(high))]"
    }

    /// 0-based bin of a confidence in [0, 1] under this scheme (see the file comment).
    public func bin(of c: Double) -> Int {
        let e = edges
        switch kind {
        case .paper:
            // Largest i with c >= e[i]; below low -> 0; high and above -> last bin.
            var b = 0
            for i in 1..<(e.count - 1) where c >= e[i] { b = i }
            return b
        case .guo:
            // Smallest i with c <= e[i + 1]; 0 -> 0.
            for i in 0..<(e.count - 1) where c <= e[i + 1] { return i }
            return e.count - 2
        }
    }
}

/// One reliability-diagram bin.
public struct ReliabilityBin: Sendable, Hashable {
    public var lower: Double
    public var upper: Double
    public var count: Int
    /// Fraction correct in the bin (nil when empty).
    public var accuracy: Double?
    /// Mean confidence in the bin (nil when empty).
    public var meanConfidence: Double?
}

/// ECE and bins of one head of one run.
public struct Calibration: Sendable, Hashable {
    public var scheme: BinScheme
    public var bins: [ReliabilityBin]
    /// ECE as a fraction in [0, 1].
    public var ece: Double
    /// ECE in percent (the unit of the paper's Table 1).
    public var ecePercent: Double { 100 * ece }
    /// Unweighted sum over non-empty bins of |acc_b - conf_b|, as a fraction (no n_b / n
    /// weights): the quantity whose magnitude the paper's Table 1 prints (issue 15).
    public var binGapSum: Double
    public var count: Int
    /// Inputs with confidence below the scheme's `low` (merged into the first bin; 0 for guo).
    public var belowRange: Int
    /// Inputs with confidence above the scheme's `high` (merged into the last bin; 0 when
    /// high is 1).
    public var aboveRange: Int = 0
}

/// Computes ECE = sum_b (n_b / n) |acc_b - conf_b|, the unweighted gap sum
/// sum_b |acc_b - conf_b| (both over non-empty bins) and the bins. Throws on NaN or a confidence
/// outside [0, 1]; an empty input gives ECE 0 with empty bins.
public func calibration(confidences: [Double], correct: [Bool], scheme: BinScheme,
                        context: String = "calibration") throws -> Calibration {
    precondition(confidences.count == correct.count, "confidences and correct differ in length")
    let e = scheme.edges
    var n = [Int](repeating: 0, count: scheme.binCount)
    var ok = [Int](repeating: 0, count: scheme.binCount)
    var sumConf = [Double](repeating: 0, count: scheme.binCount)
    var below = 0, above = 0
    for (i, c) in confidences.enumerated() {
        guard c.isFinite, c >= 0, c <= 1 else {
            throw ReportError.invalidConfidence(context: context, index: i, value: c)
        }
        if scheme.kind == .paper && c < e[0] { below += 1 }
        if scheme.kind == .paper && c > e[scheme.binCount] { above += 1 }
        let b = scheme.bin(of: c)
        n[b] += 1
        sumConf[b] += c
        if correct[i] { ok[b] += 1 }
    }
    let total = confidences.count
    var ece = 0.0, gapSum = 0.0
    var bins = [ReliabilityBin]()
    for b in 0..<scheme.binCount {
        var bin = ReliabilityBin(lower: e[b], upper: e[b + 1], count: n[b], accuracy: nil,
                                 meanConfidence: nil)
        if n[b] > 0 {
            let acc = Double(ok[b]) / Double(n[b])
            let conf = sumConf[b] / Double(n[b])
            bin.accuracy = acc
            bin.meanConfidence = conf
            ece += Double(n[b]) / Double(total) * abs(acc - conf)
            gapSum += abs(acc - conf)
        }
        bins.append(bin)
    }
    return Calibration(scheme: scheme, bins: bins, ece: ece, binGapSum: gapSum, count: total,
                       belowRange: below, aboveRange: above)
}

/// Which head's outputs to calibrate.
public enum Head: String, Sendable, Hashable, CaseIterable {
    case side = "sidenet"
    case main = "mainnet"
}

/// Calibration of one head of one run. Returns nil for the SideNet head of a baseline run.
public func calibration(run: RunResult, head: Head, scheme: BinScheme) throws -> Calibration? {
    var conf = [Double](), ok = [Bool]()
    conf.reserveCapacity(run.predictions.count)
    for (i, p) in run.predictions.enumerated() {
        switch head {
        case .main:
            conf.append(p.mainConf)
            ok.append(p.mainPred == p.label)
        case .side:
            guard let c = p.sideConf, let s = p.sidePred else {
                if run.variant == .baseline { return nil }
                throw ReportError.missingSideOutputs(experiment: run.experiment, seed: run.seed, index: i)
            }
            conf.append(c)
            ok.append(s == p.label)
        }
    }
    return try calibration(confidences: conf, correct: ok, scheme: scheme,
                           context: "run \(run.experiment)/\(run.variant.rawValue)/seed \(run.seed) \(head.rawValue) confidence")
}

/// One bin aggregated over seeds.
public struct AggregatedBin: Sendable, Hashable {
    public var lower: Double
    public var upper: Double
    /// Inputs in the bin, summed over seeds.
    public var totalCount: Int
    /// Seeds whose bin is non-empty (accuracy and confidence are averaged over these).
    public var seedsNonEmpty: Int
    /// Fraction correct, mean ± std over non-empty seeds.
    public var accuracy: MeanStd?
    /// Mean confidence, mean ± std over non-empty seeds.
    public var meanConfidence: MeanStd?
}

/// One head's calibration over seeds: per seed, and mean ± std.
public struct AggregatedCalibration: Sendable {
    public var scheme: BinScheme
    public var head: Head
    /// (seed, calibration) per run, in input order.
    public var perSeed: [(seed: Int, calibration: Calibration)]
    /// ECE in percent, mean ± std (sample std) over seeds.
    public var ecePercent: MeanStd
    /// Unweighted bin gap sum (fraction), mean ± std (sample std) over seeds.
    public var binGapSum: MeanStd
    public var bins: [AggregatedBin]
    /// Inputs with confidence below the scheme's range, summed over seeds.
    public var belowRange: Int
    /// Inputs with confidence above the scheme's range, summed over seeds.
    public var aboveRange: Int = 0
}

/// Aggregates per-seed calibrations (nil for none).
public func aggregate(_ perSeed: [(seed: Int, calibration: Calibration)], head: Head,
                      scheme: BinScheme) -> AggregatedCalibration? {
    guard !perSeed.isEmpty else { return nil }
    let e = scheme.edges
    let bins = (0..<scheme.binCount).map { b -> AggregatedBin in
        let cs = perSeed.map { $0.calibration.bins[b] }
        let accs = cs.compactMap(\.accuracy), confs = cs.compactMap(\.meanConfidence)
        return AggregatedBin(lower: e[b], upper: e[b + 1], totalCount: cs.reduce(0) { $0 + $1.count },
                             seedsNonEmpty: accs.count, accuracy: meanStd(accs),
                             meanConfidence: meanStd(confs))
    }
    return AggregatedCalibration(
        scheme: scheme, head: head, perSeed: perSeed,
        ecePercent: meanStd(perSeed.map { $0.calibration.ecePercent })!,
        binGapSum: meanStd(perSeed.map { $0.calibration.binGapSum })!,
        bins: bins, belowRange: perSeed.reduce(0) { $0 + $1.calibration.belowRange },
        aboveRange: perSeed.reduce(0) { $0 + $1.calibration.aboveRange })
}
