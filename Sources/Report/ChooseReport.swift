import Foundation
import struct Store.TimingRow

// The report's threshold-choice section, computed from the stored runs only: chosen theta per
// experiment and seed for drops of 0.5, 1 and 2 points (both methods), the re-split check of
// the guarantee, exit-rule sweeps, per-class diagnostics, failure AUROC, curve areas,
// degenerate-sweep warnings, and measured timings.

public struct ChoiceRow: Sendable {
    public var experiment: String, seed: Int, dropPts: Double, result: ChooseResult
}

/// How often the target was violated over random calibration/evaluation re-splits.
public struct ResplitCheck: Sendable {
    public var experiment: String, seed: Int, dropPts: Double, method: ChooseMethod, delta: Double
    public var trials: Int
    /// Trials whose evaluation-half drop exceeded the target.
    public var violations: Int
    /// Trials where no theta was chosen (nothing exits: never a violation).
    public var noTheta: Int
    public var rate: Double { Double(violations) / Double(max(trials, 1)) }
}

public struct RuleSweep: Sendable {
    public var experiment: String, rule: ExitRule
    /// Per theta: mean over seeds of exit rate, accuracy %, params and FLOPs per input (test split).
    public var points: [(theta: Double, exitRate: Double, accuracyPct: Double, params: Double, flops: Double)]
    /// Mean accuracy (%) over the parameter range (normalised area), mean over seeds.
    public var area: Double?
    public var seeds: Int
}

public struct ExperimentChoice: Sendable {
    public var info: ExperimentInfo
    public var seeds: [Int]
    public var choices: [ChoiceRow]
    public var resplits: [ResplitCheck]
    public var ruleSweeps: [RuleSweep]
    /// Per class, mean over seeds at each seed's diagnostic theta.
    public var perClass: [ClassDiagnostic]
    /// How the diagnostic theta was chosen, with the thetas per seed.
    public var diagnosticTheta: String
    /// Failure-prediction AUROC per rule, mean over seeds (test split).
    public var auroc: [(rule: ExitRule, side: Double?, main: Double?)]
    public var warnings: [String]
    public var timings: [(seed: Int, timing: TimingRow)]
    /// MainNet-alone test accuracy (%) per seed (for the measured-time figure).
    public var mainnetAccuracyBySeed: [Int: Double] = [:]
}

public enum ChoiceReport {
    public static let drops: [Double] = [0.5, 1, 2]
    public static let delta = 0.1
    public static let resplitTrials = 100

    public static func build(_ runs: [ChooseRun], thetas: [Double] = ThetaGrid.standard()) throws -> [ExperimentChoice] {
        var out = [ExperimentChoice]()
        for name in Array(Set(runs.map(\.experiment))).sorted() {
            let rs = runs.filter { $0.experiment == name }
            out.append(try experiment(rs, thetas: thetas))
        }
        return out
    }

    static func experiment(_ runs: [ChooseRun], thetas: [Double]) throws -> ExperimentChoice {
        var e = ExperimentChoice(info: runs[0].info, seeds: runs.map(\.seed), choices: [], resplits: [], ruleSweeps: [],
                                 perClass: [], diagnosticTheta: "", auroc: [], warnings: [], timings: [])
        var classRows = [[ClassDiagnostic]](), thetaNotes = [String]()
        for run in runs {
            let test = try exitOutcomes(run.test, rule: .maxsoftmax, context: run.context + " test")
            e.timings += run.timings.map { (run.seed, $0) }
            e.mainnetAccuracyBySeed[run.seed] = test.isEmpty ? nil : 100 * Double(test.filter(\.mainOK).count) / Double(test.count)
            guard !run.validation.isEmpty else {
                e.warnings.append("\(run.context): no validation predictions (written before migration "
                    + "v4-validation-predictions); θ not chosen, diagnostics at θ = none")
                classRows.append(Diagnostics.perClass(test, theta: nil, numClasses: run.numClasses))
                thetaNotes.append("seed \(run.seed): none")
                continue
            }
            let val = try exitOutcomes(run.validation, rule: .maxsoftmax, context: run.context + " validation")
            let cost = PathCost(run.compute)
            for d in drops {
                for m in ChooseMethod.allCases {
                    let r = try Chooser.run(validation: val, test: test, cost: cost, target: .maxAccuracyDrop(d),
                                            method: m, rule: .maxsoftmax, delta: delta, thetas: thetas)
                    e.choices.append(ChoiceRow(experiment: run.experiment, seed: run.seed, dropPts: d, result: r))
                    e.resplits.append(resplit(val + test, cost: cost, drop: d, method: m, thetas: thetas,
                                              experiment: run.experiment, seed: run.seed))
                }
            }
            // Diagnostic theta: ltt at 1 point, else naive at 1 point, else none.
            let one = e.choices.filter { $0.seed == run.seed && $0.dropPts == 1 }
            let pick = one.first { $0.result.method == .ltt && $0.result.theta != nil } ?? one.first { $0.result.method == .naive }
            classRows.append(Diagnostics.perClass(test, theta: pick?.result.theta, numClasses: run.numClasses))
            thetaNotes.append("seed \(run.seed): " + (pick?.result.theta.map { "\(cfmt($0)) (\(pick!.result.method.rawValue))" } ?? "none"))
        }
        e.perClass = meanPerClass(classRows)
        e.diagnosticTheta = "θ chosen for a 1-point drop (ltt, δ = \(cfmt(delta)); naive where ltt finds none): "
            + thetaNotes.joined(separator: "; ")
        for rule in ExitRule.allCases {
            e.ruleSweeps.append(try ruleSweep(runs, rule: rule, thetas: thetas, warnings: &e.warnings))
            let a = runs.map { Diagnostics.failureAUROC($0.test, rule: rule) }
            e.auroc.append((rule, cmean(a.compactMap(\.side)), cmean(a.compactMap(\.main))))
        }
        return e
    }

    static func ruleSweep(_ runs: [ChooseRun], rule: ExitRule, thetas: [Double], warnings: inout [String]) throws -> RuleSweep {
        var tables = [[SplitMetrics]](), areas = [Double]()
        for run in runs {
            let table = ThetaTable(try exitOutcomes(run.test, rule: rule, context: run.context + " test"), thetas: thetas)
            let cost = PathCost(run.compute)
            let m = table.counts.map { SplitMetrics($0, cost: cost) }
            tables.append(m)
            if let a = Diagnostics.normalizedArea(m.map { ($0.paramsPerInput, $0.accuracyPct) }, lo: cost.exitParams, hi: cost.fullParams) {
                areas.append(a)
            }
            if let w = Diagnostics.degenerateWarning(table, what: "\(run.context), rule \(rule.rawValue), test split") {
                warnings.append(w)
            }
        }
        let points = thetas.indices.map { t in
            (theta: thetas[t], exitRate: cmean(tables.map { $0[t].exitRate })!, accuracyPct: cmean(tables.map { $0[t].accuracyPct })!,
             params: cmean(tables.map { $0[t].paramsPerInput })!, flops: cmean(tables.map { $0[t].flopsPerInput })!)
        }
        return RuleSweep(experiment: runs[0].experiment, rule: rule, points: points, area: cmean(areas), seeds: runs.count)
    }

    /// 100 random halvings of validation+test: choose on one half, count target violations on the other.
    public static func resplit(_ pool: [ExitOutcome], cost: PathCost, drop: Double, method: ChooseMethod,
                               thetas: [Double], experiment: String, seed: Int,
                               trials: Int = resplitTrials) -> ResplitCheck {
        var rng = SplitMix64(seed: UInt64(bitPattern: Int64(seed)) &+ UInt64(drop * 1000) &+ (method == .ltt ? 7 : 0))
        var check = ResplitCheck(experiment: experiment, seed: seed, dropPts: drop, method: method, delta: delta,
                                 trials: trials, violations: 0, noTheta: 0)
        var items = pool
        for _ in 0..<trials {
            for i in stride(from: items.count - 1, to: 0, by: -1) { items.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            let half = items.count / 2
            let cal = Array(items[..<half]), eval = Array(items[half...])
            let table = ThetaTable(cal, thetas: thetas)
            guard let i = Chooser.choose(table, cost: cost, target: .maxAccuracyDrop(drop), method: method, delta: delta) else {
                check.noTheta += 1
                continue
            }
            let m = SplitMetrics(ThetaTable.counts(eval, theta: thetas[i]), cost: cost)
            if m.dropPts > drop + 1e-9 { check.violations += 1 }
        }
        return check
    }

    static func meanPerClass(_ rows: [[ClassDiagnostic]]) -> [ClassDiagnostic] {
        guard let k = rows.map(\.count).max() else { return [] }
        return (0..<k).map { c in
            let r = rows.compactMap { $0.indices.contains(c) && $0[c].inputs > 0 ? $0[c] : nil }
            return ClassDiagnostic(label: c, inputs: r.map(\.inputs).reduce(0, +) / max(r.count, 1),
                                   exitRate: cmean(r.map(\.exitRate)) ?? .nan, accuracyPct: cmean(r.map(\.accuracyPct)) ?? .nan,
                                   mainnetAccuracyPct: cmean(r.map(\.mainnetAccuracyPct)) ?? .nan)
        }
    }
}

func cmean(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count) }

/// SplitMix64: a small deterministic generator for the re-split check.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
