import Foundation

// Exit rules: how the SideNet's output becomes the score compared with theta (an input exits
// at the SideNet when score >= theta). Every score lies in [0, 1], so one theta grid serves all.
//
// - maxsoftmax (the paper's): the largest class probability, as stored in `side_conf`.
// - entropy: 1 - H(p) / ln K, the normalised negative entropy (1 = one-hot, 0 = uniform).
// - margin: p(top-1) - p(top-2).
//
// Binary heads with one sigmoid logit z use p = [1 - sigmoid(z), sigmoid(z)], so with s = sigmoid(z):
// maxsoftmax = max(s, 1 - s), margin = |2s - 1| = 2 maxsoftmax - 1, entropy = 1 - h(s) / ln 2
// (h the binary entropy). All three are increasing functions of |z|: for a binary head they
// order the inputs identically, and their sweeps trace the same accuracy-versus-cost curve at
// different theta values. They differ only with K > 2 classes.

/// A rule turning SideNet outputs into the exit score.
public enum ExitRule: String, Sendable, CaseIterable, Codable {
    case maxsoftmax
    case entropy
    case margin

    /// The score of one prediction's SideNet output (nil without SideNet outputs).
    /// maxsoftmax uses the stored `side_conf` (identical to the sweeps); the others need logits.
    public func score(_ p: Prediction) -> Double? {
        switch self {
        case .maxsoftmax:
            return p.sideConf
        case .entropy, .margin:
            guard let logits = p.sideLogits, !logits.isEmpty else { return nil }
            return score(probabilities: probabilities(fromLogits: logits))
        }
    }

    /// The score of a probability vector (K >= 2).
    public func score(probabilities q: [Double]) -> Double {
        switch self {
        case .maxsoftmax:
            return q.max() ?? 0
        case .entropy:
            guard q.count > 1 else { return 1 }
            let h = q.reduce(0.0) { $0 - ($1 > 0 ? $1 * log($1) : 0) }
            return min(1, max(0, 1 - h / log(Double(q.count))))
        case .margin:
            let s = q.sorted(by: >)
            return s.count > 1 ? max(0, s[0] - s[1]) : 1
        }
    }

    /// One-line description used in tables.
    public var phrase: String {
        switch self {
        case .maxsoftmax: return "max softmax probability (the paper's rule)"
        case .entropy: return "1 − normalised entropy of the SideNet's probabilities"
        case .margin: return "top-1 minus top-2 probability"
        }
    }
}

/// What one example contributes to a threshold choice (one split of one run).
public struct ExitOutcome: Sendable, Hashable {
    public var label: Int
    /// Exit score under the chosen rule.
    public var score: Double
    public var sidePred: Int
    public var mainPred: Int
    public var sideOK: Bool { sidePred == label }
    public var mainOK: Bool { mainPred == label }

    public init(label: Int, score: Double, sidePred: Int, mainPred: Int) {
        self.label = label; self.score = score; self.sidePred = sidePred; self.mainPred = mainPred
    }
}

/// The outcomes of `predictions` under `rule`; throws naming the example that lacks SideNet outputs.
public func exitOutcomes(_ predictions: [Prediction], rule: ExitRule, context: String) throws -> [ExitOutcome] {
    try predictions.enumerated().map { i, p in
        guard let s = rule.score(p), let sp = p.sidePred else {
            throw ChooseError.missingSideOutputs(context: context, index: i, rule: rule)
        }
        guard s.isFinite, s >= 0, s <= 1 else {
            throw ReportError.invalidConfidence(context: "\(context) \(rule.rawValue) score", index: i, value: s)
        }
        return ExitOutcome(label: p.label, score: s, sidePred: sp, mainPred: p.mainPred)
    }
}
