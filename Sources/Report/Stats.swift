import Foundation

/// Errors of the report module. Each message names the run, file or script concerned.
public enum ReportError: Error, CustomStringConvertible, Equatable {
    /// A run has no predictions.
    case emptyRun(experiment: String, variant: Variant, seed: Int)
    /// A SideNet-variant prediction lacks `side_pred` / `side_conf`.
    case missingSideOutputs(experiment: String, seed: Int, index: Int)
    /// A confidence is NaN or outside [0, 1].
    case invalidConfidence(context: String, index: Int, value: Double)
    /// Two runs share experiment, variant and seed.
    case duplicateRun(experiment: String, variant: Variant, seed: Int)
    /// Runs of one experiment and variant disagree on the theta grid or bin layout (internal).
    case inconsistentRuns(experiment: String, detail: String)
    /// A file could not be written.
    case writeFailed(path: String, detail: String)
    /// gnuplot exited with a non-zero status on a script.
    case gnuplotFailed(script: String, status: Int32, stderr: String)
    /// gnuplot could not be started.
    case gnuplotLaunchFailed(script: String, detail: String)

    public var description: String {
        switch self {
        case let .emptyRun(e, v, s):
            return "run \(e)/\(v.rawValue)/seed \(s): no predictions"
        case let .missingSideOutputs(e, s, i):
            return "run \(e)/sidenet/seed \(s): prediction \(i) has no side_pred/side_conf"
        case let .invalidConfidence(c, i, v):
            return "\(c): confidence at index \(i) is \(v), expected a value in [0, 1]"
        case let .duplicateRun(e, v, s):
            return "runs: experiment \(e) variant \(v.rawValue) seed \(s) appears twice"
        case let .inconsistentRuns(e, d):
            return "experiment \(e): \(d)"
        case let .writeFailed(p, d):
            return "\(p): cannot write (\(d))"
        case let .gnuplotFailed(s, st, err):
            return "gnuplot \(s): exit status \(st): \(err.trimmingCharacters(in: .whitespacesAndNewlines))"
        case let .gnuplotLaunchFailed(s, d):
            return "gnuplot \(s): cannot launch (\(d))"
        }
    }
}

/// Mean and sample standard deviation (n - 1 in the denominator) over seeds.
/// One value gives std 0; no values give nil.
public func meanStd(_ values: [Double]) -> MeanStd? {
    guard !values.isEmpty else { return nil }
    let n = Double(values.count)
    let mean = values.reduce(0, +) / n
    guard values.count > 1 else { return MeanStd(mean: mean, std: 0) }
    let ss = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
    return MeanStd(mean: mean, std: (ss / (n - 1)).squareRoot())
}

/// Numerically stable logistic sigmoid in Double (for z < 0 uses e^z / (1 + e^z)).
public func sigmoid(_ z: Double) -> Double {
    if z >= 0 { return 1 / (1 + exp(-z)) }
    let e = exp(z)
    return e / (1 + e)
}

/// Class probabilities from one head's logits, computed in Double.
/// K > 1 logits: softmax (max-subtracted). One logit z: [1 - sigmoid(z), sigmoid(z)].
public func probabilities(fromLogits logits: [Float]) -> [Double] {
    if logits.count == 1 {
        let p = sigmoid(Double(logits[0]))
        return [1 - p, p]
    }
    let z = logits.map(Double.init)
    let m = z.max() ?? 0
    let e = z.map { exp($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

/// Predicted class of the average of two heads' probabilities.
/// Ties: the first maximal index (argmax convention), except that with two classes an exact
/// 0.5/0.5 tie predicts class 1 (the sigmoid rule p >= 0.5 -> 1). Nil if either logit vector
/// is empty or the class counts differ.
public func ensemblePrediction(sideLogits: [Float], mainLogits: [Float]) -> Int? {
    guard !sideLogits.isEmpty, !mainLogits.isEmpty else { return nil }
    let a = probabilities(fromLogits: sideLogits)
    let b = probabilities(fromLogits: mainLogits)
    guard a.count == b.count else { return nil }
    let avg = zip(a, b).map { ($0 + $1) / 2 }
    if avg.count == 2 { return avg[1] >= avg[0] ? 1 : 0 }
    var best = 0
    for k in 1..<avg.count where avg[k] > avg[best] { best = k }
    return best
}
