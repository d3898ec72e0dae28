import Foundation

// Choosing theta on the validation split only, then reporting the test split at that theta.
//
// Reference: the MainNet head of the same SideNet-variant run answering every input. The
// accuracy drop at theta is (MainNet accuracy − early-exit accuracy) in points.
//
// naive: the smallest-cost theta whose validation drop is within the target (for a parameter
//   budget: the most accurate theta whose validation parameters per input are within budget).
//   No guarantee: the test split may exceed the target.
// ltt: Learn then Test with fixed-sequence testing (`LTT`). For an accuracy-drop target a (points)
//   the loss of an input is 1 when it exits, the SideNet is wrong and the MainNet would have been
//   right ("harm"); the drop is at most the harm rate, so harm rate <= a/100 bounds the drop.
//   Thetas are tested from 1 down. For a parameter budget N the loss is 1 when the input does
//   not exit; parameters per input = exit cost + (non-exit rate) × (full − exit cost), so a
//   non-exit rate <= (N − exit cost)/(full − exit cost) is the budget; thetas are tested from 0 up.
//
// Seeds are separate models: a theta is chosen per run (per seed), never pooled across seeds.

public enum ChooseMethod: String, Sendable, CaseIterable, Codable { case naive, ltt }

public enum ChooseTarget: Sendable, Hashable, Codable {
    /// Largest accepted accuracy drop against the MainNet alone, in percentage points.
    case maxAccuracyDrop(Double)
    /// Largest accepted average parameters per input.
    case maxParamsPerInput(Double)

    public var phrase: String {
        switch self {
        case .maxAccuracyDrop(let a): return "accuracy drop ≤ \(cfmt(a)) points against the MainNet alone"
        case .maxParamsPerInput(let n): return "average parameters per input ≤ \(cfmt(n))"
        }
    }
}

/// Errors of threshold choice (one line each, naming the run or the argument).
public enum ChooseError: Error, CustomStringConvertible, Equatable {
    case missingSideOutputs(context: String, index: Int, rule: ExitRule)
    case noValidationRows(context: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .missingSideOutputs(c, i, r):
            return "\(c): example \(i) lacks the SideNet outputs the \(r.rawValue) rule needs"
        case let .noValidationRows(c):
            return "\(c): no validation predictions (run written before the store kept them, "
                + "migration v4-validation-predictions); rerun it with --force to choose θ"
        case let .invalidArgument(s): return s
        }
    }
}

/// The chosen theta and what it gives on both splits.
public struct ChooseResult: Sendable, Hashable {
    /// nil: no theta of the grid meets the target; the MainNet alone answers everything.
    public var theta: Double?
    public var method: ChooseMethod
    public var rule: ExitRule
    public var delta: Double
    public var target: ChooseTarget
    public var val: SplitMetrics
    public var test: SplitMetrics
    /// The guarantee (or its absence) in words.
    public var guarantee: String
}

public enum Chooser {
    /// Index in `thetas` of the chosen theta (nil: none), from validation counts only.
    public static func choose(_ table: ThetaTable, cost: PathCost, target: ChooseTarget, method: ChooseMethod,
                              delta: Double) -> Int? {
        let c = table.counts
        let metrics = c.map { SplitMetrics($0, cost: cost) }
        switch (target, method) {
        case (.maxAccuracyDrop(let a), .naive):
            let ok = c.indices.filter { metrics[$0].dropPts <= a + 1e-9 }
            // lowest cost; on ties the larger (more conservative) theta
            return ok.min { (metrics[$0].paramsPerInput, -c[$0].theta) < (metrics[$1].paramsPerInput, -c[$1].theta) }
        case (.maxParamsPerInput(let n), .naive):
            let ok = c.indices.filter { metrics[$0].paramsPerInput <= n + 1e-9 }
            return ok.max { (metrics[$0].accuracyPct, -metrics[$0].paramsPerInput) < (metrics[$1].accuracyPct, -metrics[$1].paramsPerInput) }
        case (.maxAccuracyDrop(let a), .ltt):
            let alpha = a / 100
            let rejected = LTT.fixedSequence(order: Array(c.indices.reversed()), pValue: { i in
                LTT.pValue(losses: c[i].harm, n: c[i].inputs, alpha: alpha)
            }, delta: delta)
            return rejected.last
        case (.maxParamsPerInput(let n), .ltt):
            let span = cost.fullParams - cost.exitParams
            let alpha = span > 0 ? (n - cost.exitParams) / span : (n >= cost.fullParams ? 1 : 0)
            let rejected = LTT.fixedSequence(order: Array(c.indices), pValue: { i in
                alpha >= 1 ? 0 : LTT.pValue(losses: c[i].inputs - c[i].exits, n: c[i].inputs, alpha: alpha)
            }, delta: delta)
            return rejected.max { (metrics[$0].accuracyPct, -metrics[$0].paramsPerInput) < (metrics[$1].accuracyPct, -metrics[$1].paramsPerInput) }
        }
    }

    /// Chooses theta on `validation` and evaluates it on `test` (both under `rule`).
    public static func run(validation: [ExitOutcome], test: [ExitOutcome], cost: PathCost, target: ChooseTarget,
                           method: ChooseMethod, rule: ExitRule, delta: Double,
                           thetas: [Double] = ThetaGrid.standard()) throws -> ChooseResult {
        try check(target: target, delta: delta)
        guard !validation.isEmpty else { throw ChooseError.invalidArgument("choose: the validation split is empty") }
        let table = ThetaTable(validation, thetas: thetas)
        let index = choose(table, cost: cost, target: target, method: method, delta: delta)
        let theta = index.map { thetas[$0] }
        let valCounts = index.map { table.counts[$0] } ?? ThetaTable.noExit(validation)
        let testCounts = theta.map { ThetaTable.counts(test, theta: $0) } ?? ThetaTable.noExit(test)
        return ChooseResult(theta: theta, method: method, rule: rule, delta: delta, target: target,
                            val: SplitMetrics(valCounts, cost: cost), test: SplitMetrics(testCounts, cost: cost),
                            guarantee: guarantee(theta: theta, method: method, target: target, delta: delta,
                                                 n: validation.count))
    }

    static func check(target: ChooseTarget, delta: Double) throws {
        switch target {
        case .maxAccuracyDrop(let a) where !(a.isFinite && a >= 0 && a <= 100):
            throw ChooseError.invalidArgument("--max-accuracy-drop must be between 0 and 100 points, not \(a)")
        case .maxParamsPerInput(let n) where !(n.isFinite && n > 0):
            throw ChooseError.invalidArgument("--max-params-per-input must be a positive number, not \(n)")
        default: break
        }
        guard delta.isFinite, delta > 0, delta < 1 else {
            throw ChooseError.invalidArgument("--delta must be strictly between 0 and 1, not \(delta)")
        }
    }

    static func guarantee(theta: Double?, method: ChooseMethod, target: ChooseTarget, delta: Double, n: Int) -> String {
        guard theta != nil else {
            return "No θ of the grid meets the target (\(target.phrase)) on the \(n) validation inputs"
                + (method == .ltt ? " with confidence 1 − δ = \(cfmt(1 - delta))" : "")
                + "; the MainNet alone answers every input (no early exit)."
        }
        switch method {
        case .naive:
            return "No guarantee: θ meets the target (\(target.phrase)) on the \(n) validation inputs only; "
                + "new data may exceed it."
        case .ltt:
            let what: String
            switch target {
            case .maxAccuracyDrop(let a):
                what = "the accuracy drop against the MainNet alone is at most \(cfmt(a)) points (the rate of inputs "
                    + "the SideNet answers wrongly where the MainNet is right, an upper bound of the drop, is ≤ \(cfmt(a / 100)))"
            case .maxParamsPerInput(let b):
                what = "the average parameters per input are at most \(cfmt(b))"
            }
            return "With probability at least \(cfmt(1 - delta)) over the draw of the \(n) validation inputs, on new "
                + "inputs from the same distribution \(what) (Learn then Test, fixed-sequence testing, exact binomial p-values)."
        }
    }
}

func cfmt(_ x: Double) -> String {
    if x == x.rounded() && abs(x) < 1e15 { return String(Int(x)) }
    return String(format: "%.6g", x)
}
