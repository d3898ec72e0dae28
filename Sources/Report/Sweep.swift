// Threshold sweeps: the early-exit model's accuracy and compute as theta varies.
//
// Convention: an input exits early at the SideNet when side_conf >= theta (so theta = 0 sends
// every input to the SideNet, and theta = 1 only those with confidence exactly 1).
// Compute per input follows the paper: an early exit costs prefix + SideNet; otherwise the whole
// MainNet runs and the SideNet has already been evaluated, so MainNet + SideNet.

/// Theta grids built from integers so that grid values equal their decimal literals exactly.
public enum ThetaGrid {
    /// 0, 0.01, ..., 1 (as Double(i) / 100, i.e. the correctly rounded decimal), plus `extra`
    /// values; sorted ascending, exact duplicates removed.
    public static func standard(steps: Int = 100, extra: [Double] = []) -> [Double] {
        let base = (0...steps).map { Double($0) / Double(steps) }
        return Array(Set(base + extra)).sorted()
    }
}

/// One theta of one run's sweep. Accuracies in percent; params and FLOPs per input are raw
/// counts averaged over the test inputs.
public struct SweepPoint: Sendable, Hashable {
    public var theta: Double
    /// Fraction of inputs answered by the SideNet (side_conf >= theta), in [0, 1].
    public var fractionSide: Double
    /// Accuracy (%) of the early-exit model.
    public var accuracy: Double
    /// Average parameters per input (early exit: prefix + SideNet; else MainNet + SideNet).
    public var paramsPerInput: Double
    /// Average FLOPs per input (same rule).
    public var flopsPerInput: Double
    /// Accuracy (%) of the ensemble of both heads on every input (average of probabilities);
    /// independent of theta, repeated for convenience. Nil without logits.
    public var ensembleAccuracy: Double?
    /// Accuracy (%) when inputs that do not exit are answered by the ensemble of both heads
    /// instead of the MainNet alone (the SideNet output is already available). Nil without logits.
    public var exitEnsembleAccuracy: Double?
}

/// The sweep of one SideNet-variant run.
public struct RunSweep: Sendable {
    public var experiment: String
    public var seed: Int
    public var points: [SweepPoint]
    /// SideNet accuracy (%) on all inputs.
    public var sideAccuracy: Double
    /// MainNet head accuracy (%) on all inputs.
    public var mainAccuracy: Double
}

/// Mean ± std over seeds of one theta.
public struct AggregatedSweepPoint: Sendable, Hashable {
    public var theta: Double
    public var seeds: Int
    public var fractionSide: MeanStd
    public var accuracy: MeanStd
    public var paramsPerInput: MeanStd
    public var flopsPerInput: MeanStd
    public var ensembleAccuracy: MeanStd?
    public var exitEnsembleAccuracy: MeanStd?
}

/// The baseline variant as one point: the MainNet alone (params_mainnet, flops_mainnet).
public struct BaselinePoint: Sendable, Hashable {
    public var seeds: Int
    /// MainNet accuracy (%).
    public var accuracy: MeanStd
    public var paramsPerInput: MeanStd
    public var flopsPerInput: MeanStd
}

/// Computes one run's sweep over `thetas`. Throws if the run is empty or lacks SideNet outputs.
public func sweep(run: RunResult, thetas: [Double]) throws -> RunSweep {
    let preds = run.predictions
    guard !preds.isEmpty else {
        throw ReportError.emptyRun(experiment: run.experiment, variant: run.variant, seed: run.seed)
    }
    // Per-input facts that do not depend on theta.
    var sideConf = [Double](), sideOK = [Bool](), mainOK = [Bool](), ensOK = [Bool]()
    var haveEnsemble = true
    for (i, p) in preds.enumerated() {
        guard let c = p.sideConf, let sp = p.sidePred else {
            throw ReportError.missingSideOutputs(experiment: run.experiment, seed: run.seed, index: i)
        }
        guard c.isFinite, c >= 0, c <= 1 else {
            throw ReportError.invalidConfidence(
                context: "run \(run.experiment)/seed \(run.seed) side_conf", index: i, value: c)
        }
        sideConf.append(c)
        sideOK.append(sp == p.label)
        mainOK.append(p.mainPred == p.label)
        if haveEnsemble, let sl = p.sideLogits,
           let e = ensemblePrediction(sideLogits: sl, mainLogits: p.mainLogits) {
            ensOK.append(e == p.label)
        } else {
            haveEnsemble = false
        }
    }
    let n = Double(preds.count)
    let c = run.compute
    let exitParams = Double(c.paramsPrefix + c.paramsSideNet)
    let fullParams = Double(c.paramsMainNet + c.paramsSideNet)
    let exitFlops = Double(c.flopsPrefix + c.flopsSideNet)
    let fullFlops = Double(c.flopsMainNet + c.flopsSideNet)
    let ensembleAcc = haveEnsemble ? 100 * Double(ensOK.filter { $0 }.count) / n : nil

    var points = [SweepPoint]()
    points.reserveCapacity(thetas.count)
    for theta in thetas {
        var exits = 0, correct = 0, correctEns = 0
        for i in 0..<preds.count {
            if sideConf[i] >= theta {
                exits += 1
                if sideOK[i] { correct += 1; correctEns += 1 }
            } else {
                if mainOK[i] { correct += 1 }
                if haveEnsemble && ensOK[i] { correctEns += 1 }
            }
        }
        let e = Double(exits)
        points.append(SweepPoint(
            theta: theta,
            fractionSide: e / n,
            accuracy: 100 * Double(correct) / n,
            paramsPerInput: (e * exitParams + (n - e) * fullParams) / n,
            flopsPerInput: (e * exitFlops + (n - e) * fullFlops) / n,
            ensembleAccuracy: ensembleAcc,
            exitEnsembleAccuracy: haveEnsemble ? 100 * Double(correctEns) / n : nil))
    }
    return RunSweep(experiment: run.experiment, seed: run.seed, points: points,
                    sideAccuracy: 100 * Double(sideOK.filter { $0 }.count) / n,
                    mainAccuracy: 100 * Double(mainOK.filter { $0 }.count) / n)
}

/// Mean ± std over seeds per theta. All sweeps must share the same theta grid.
/// The ensemble columns are aggregated only if every run has them.
public func aggregate(_ sweeps: [RunSweep]) throws -> [AggregatedSweepPoint] {
    guard let first = sweeps.first else { return [] }
    let thetas = first.points.map(\.theta)
    for s in sweeps where s.points.map(\.theta) != thetas {
        throw ReportError.inconsistentRuns(experiment: s.experiment,
                                           detail: "seed \(s.seed) was swept on a different theta grid")
    }
    return thetas.indices.map { t in
        let pts = sweeps.map { $0.points[t] }
        let ens = pts.compactMap(\.ensembleAccuracy)
        let exEns = pts.compactMap(\.exitEnsembleAccuracy)
        return AggregatedSweepPoint(
            theta: thetas[t], seeds: pts.count,
            fractionSide: meanStd(pts.map(\.fractionSide))!,
            accuracy: meanStd(pts.map(\.accuracy))!,
            paramsPerInput: meanStd(pts.map(\.paramsPerInput))!,
            flopsPerInput: meanStd(pts.map(\.flopsPerInput))!,
            ensembleAccuracy: ens.count == pts.count ? meanStd(ens) : nil,
            exitEnsembleAccuracy: exEns.count == pts.count ? meanStd(exEns) : nil)
    }
}

/// MainNet-alone accuracy of one run, in percent (main_pred == label).
public func mainAccuracy(of run: RunResult) -> Double {
    guard !run.predictions.isEmpty else { return 0 }
    let ok = run.predictions.filter { $0.mainPred == $0.label }.count
    return 100 * Double(ok) / Double(run.predictions.count)
}

/// The baseline variant's single point, mean ± std over its runs (nil for no runs).
public func baselinePoint(_ runs: [RunResult]) throws -> BaselinePoint? {
    guard !runs.isEmpty else { return nil }
    for r in runs where r.predictions.isEmpty {
        throw ReportError.emptyRun(experiment: r.experiment, variant: r.variant, seed: r.seed)
    }
    return BaselinePoint(
        seeds: runs.count,
        accuracy: meanStd(runs.map(mainAccuracy(of:)))!,
        paramsPerInput: meanStd(runs.map { Double($0.compute.paramsMainNet) })!,
        flopsPerInput: meanStd(runs.map { Double($0.compute.flopsMainNet) })!)
}
