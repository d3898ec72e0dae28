import Foundation

// Diagnostics of an early-exit model at a chosen theta: which classes exit and how accurate the
// combined model is per class, how well each head's confidence predicts its own failures
// (AUROC), the area under an accuracy-versus-parameters curve, and degenerate sweeps.

/// One class at one theta (test split).
public struct ClassDiagnostic: Sendable, Hashable {
    public var label: Int
    public var inputs: Int
    /// Fraction of this class's inputs answered by the SideNet.
    public var exitRate: Double
    /// Accuracy (%) of the early-exit model on this class.
    public var accuracyPct: Double
    /// Accuracy (%) of the MainNet alone on this class.
    public var mainnetAccuracyPct: Double
}

public enum Diagnostics {
    /// Per-class exit rate and accuracy at theta, for classes 0..<numClasses (classes without
    /// inputs are listed with 0 inputs and NaN rates).
    public static func perClass(_ outcomes: [ExitOutcome], theta: Double?, numClasses: Int) -> [ClassDiagnostic] {
        let k = max(numClasses, (outcomes.map(\.label).max() ?? -1) + 1)
        var n = [Int](repeating: 0, count: k), exits = n, correct = n, main = n
        for o in outcomes {
            let exit = theta.map { o.score >= $0 } ?? false
            n[o.label] += 1
            if exit { exits[o.label] += 1 }
            if exit ? o.sideOK : o.mainOK { correct[o.label] += 1 }
            if o.mainOK { main[o.label] += 1 }
        }
        return (0..<k).map { c in
            let d = Double(n[c])
            return ClassDiagnostic(label: c, inputs: n[c], exitRate: d > 0 ? Double(exits[c]) / d : .nan,
                                   accuracyPct: d > 0 ? 100 * Double(correct[c]) / d : .nan,
                                   mainnetAccuracyPct: d > 0 ? 100 * Double(main[c]) / d : .nan)
        }
    }

    /// Area under the ROC curve of `scores` separating `positive` from the rest (Mann–Whitney U,
    /// ties count one half). Nil when either group is empty.
    public static func auroc(scores: [Double], positive: [Bool]) -> Double? {
        precondition(scores.count == positive.count)
        let pos = positive.filter { $0 }.count, neg = positive.count - pos
        guard pos > 0, neg > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        // Average ranks (1-based) over tied groups.
        var rankSumPos = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let avgRank = Double(i + j + 2) / 2
            for t in i...j where positive[order[t]] { rankSumPos += avgRank }
            i = j + 1
        }
        let u = rankSumPos - Double(pos) * Double(pos + 1) / 2
        return u / (Double(pos) * Double(neg))
    }

    /// Failure-prediction AUROC of each head's confidence under `rule`: how well a higher score
    /// marks a correct answer of that head (1 = perfect, 0.5 = chance). Nil for a head whose
    /// answers are all right or all wrong.
    public static func failureAUROC(_ predictions: [Prediction], rule: ExitRule) -> (side: Double?, main: Double?) {
        var sideS = [Double](), sideOK = [Bool](), mainS = [Double](), mainOK = [Bool]()
        for p in predictions {
            if let s = rule.score(p), let sp = p.sidePred { sideS.append(s); sideOK.append(sp == p.label) }
            let m = rule == .maxsoftmax ? p.mainConf : rule.score(probabilities: probabilities(fromLogits: p.mainLogits))
            mainS.append(m)
            mainOK.append(p.mainPred == p.label)
        }
        return (auroc(scores: sideS, positive: sideOK), auroc(scores: mainS, positive: mainOK))
    }

    /// Mean accuracy (%) over the parameter range [lo, hi]: the trapezoid area under the curve
    /// of (params per input, accuracy %) divided by hi − lo; the curve is extended flat beyond
    /// its first and last points. Nil for an empty curve or an empty range.
    public static func normalizedArea(_ points: [(x: Double, y: Double)], lo: Double, hi: Double) -> Double? {
        guard hi > lo, !points.isEmpty else { return nil }
        var pts = points.filter { $0.x.isFinite && $0.y.isFinite }.sorted { ($0.x, $0.y) < ($1.x, $1.y) }
        guard !pts.isEmpty else { return nil }
        pts = pts.map { (min(max($0.x, lo), hi), $0.y) }
        var area = 0.0
        area += (pts[0].x - lo) * pts[0].y
        for i in 1..<pts.count { area += (pts[i].x - pts[i - 1].x) * (pts[i].y + pts[i - 1].y) / 2 }
        area += (hi - pts[pts.count - 1].x) * pts[pts.count - 1].y
        return area / (hi - lo)
    }

    /// The theta range over which a sweep should change something ("useful range").
    public static let usefulRange: ClosedRange<Double> = 0.5...0.95

    /// A warning when the exits degenerate over `usefulRange`: nothing ever exits (exit rate
    /// <= 1 % at every theta in it) or everything always does (>= 99 %). Nil otherwise.
    public static func degenerateWarning(_ table: ThetaTable, what: String) -> String? {
        let rates = table.counts.filter { usefulRange.contains($0.theta) && $0.inputs > 0 }
            .map { Double($0.exits) / Double($0.inputs) }
        guard !rates.isEmpty else { return nil }
        let range = "θ in [\(cfmt(usefulRange.lowerBound)), \(cfmt(usefulRange.upperBound))]"
        if rates.allSatisfy({ $0 <= 0.01 }) {
            return "\(what): nothing exits (exit rate ≤ 1 % at every \(range)): the SideNet is never confident enough"
        }
        if rates.allSatisfy({ $0 >= 0.99 }) {
            return "\(what): everything exits (exit rate ≥ 99 % at every \(range)): the MainNet is almost never used"
        }
        return nil
    }
}
