// Expected calibration error (formats.md section 8) and reliability-diagram bins.
//
// Two binning schemes:
// - paper8: the paper's 8 bins over [0.2, 1.0]: [0.2,0.3), [0.3,0.4), ..., [0.8,0.9), [0.9,1.0]
//   (left-closed, last bin closed). Interior edges go to the upper bin (0.5 -> [0.5,0.6)).
//   Confidences below 0.2 are merged into the first bin (effectively [0,0.3)), so the ECE stays
//   a weighted average over all n; their number is reported as `belowRange`.
//   Binning compares against explicit Double edge literals, never floor((c - 0.2) / 0.1), which
//   in Double misplaces 0.3, 0.5 and 0.9.
// - guo15: 15 bins ((m-1)/15, m/15] (gpleiss `_ECELoss`: conf > lower && conf <= upper);
//   confidence 0 goes to the first bin.
// Confidences are used as given, in Double: a Float32-rounded 0.7 (0.699999988) is below the
// 0.7 edge and lands in [0.6, 0.7). ECE is returned as a fraction and in percent.

/// A binning scheme for ECE and reliability diagrams.
public enum BinScheme: String, Sendable, Hashable, CaseIterable {
    /// The paper's 8 bins over [0.2, 1.0], left-closed.
    case paper8
    /// Guo et al. / gpleiss 15 bins over [0, 1], (lo, hi].
    case guo15

    /// Bin edges (count + 1 values).
    public var edges: [Double] {
        switch self {
        case .paper8: return [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        case .guo15: return (0...15).map { Double($0) / 15 }
        }
    }

    public var binCount: Int { edges.count - 1 }

    /// 0-based bin of a confidence in [0, 1] under this scheme (see the file comment).
    public func bin(of c: Double) -> Int {
        let e = edges
        switch self {
        case .paper8:
            // Largest i with c >= e[i]; below 0.2 -> 0; 1.0 -> last bin.
            var b = 0
            for i in 1..<(e.count - 1) where c >= e[i] { b = i }
            return b
        case .guo15:
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
    public var count: Int
    /// Inputs with confidence < 0.2 (merged into the first bin under `paper8`; 0 for `guo15`).
    public var belowRange: Int
}

/// Computes ECE = sum_b (n_b / n) |acc_b - conf_b| and the bins. Throws on NaN or a confidence
/// outside [0, 1]; an empty input gives ECE 0 with empty bins.
public func calibration(confidences: [Double], correct: [Bool], scheme: BinScheme,
                        context: String = "calibration") throws -> Calibration {
    precondition(confidences.count == correct.count, "confidences and correct differ in length")
    let e = scheme.edges
    var n = [Int](repeating: 0, count: scheme.binCount)
    var ok = [Int](repeating: 0, count: scheme.binCount)
    var sumConf = [Double](repeating: 0, count: scheme.binCount)
    var below = 0
    for (i, c) in confidences.enumerated() {
        guard c.isFinite, c >= 0, c <= 1 else {
            throw ReportError.invalidConfidence(context: context, index: i, value: c)
        }
        if scheme == .paper8 && c < e[0] { below += 1 }
        let b = scheme.bin(of: c)
        n[b] += 1
        sumConf[b] += c
        if correct[i] { ok[b] += 1 }
    }
    let total = confidences.count
    var ece = 0.0
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
        }
        bins.append(bin)
    }
    return Calibration(scheme: scheme, bins: bins, ece: ece, count: total, belowRange: below)
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
    public var bins: [AggregatedBin]
    /// Inputs with confidence < 0.2 summed over seeds.
    public var belowRange: Int
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
        bins: bins, belowRange: perSeed.reduce(0) { $0 + $1.calibration.belowRange })
}
