// The computed report: per-experiment sweeps and calibration, Tables 1 and 2, and the list of
// missing runs. Pure computation; `ReportWriter` turns it into files.

/// Everything the report computed for one experiment.
public struct ExperimentReport: Sendable {
    public var info: ExperimentInfo
    /// Per-seed sweeps of the SideNet variant (sorted by seed).
    public var sweeps: [RunSweep]
    /// Mean ± std over seeds per theta (empty without SideNet runs).
    public var sweep: [AggregatedSweepPoint]
    /// The baseline variant's point (nil without baseline runs).
    public var baseline: BaselinePoint?
    /// MainNet accuracy (%) of the SideNet variant, mean ± std over seeds (Table 2 "SideNet").
    public var mainAccuracyWithSideNet: MeanStd?
    /// SideNet accuracy (%) on all inputs, mean ± std over seeds.
    public var sideAccuracy: MeanStd?
    /// Calibration of the SideNet-variant heads and the baseline MainNet, keyed by scheme.
    public var sideCalibration: [BinScheme: AggregatedCalibration]
    public var mainCalibration: [BinScheme: AggregatedCalibration]
    public var baselineMainCalibration: [BinScheme: AggregatedCalibration]

    /// The binning schemes computed: the spec's `evaluation.ece`, then Guo et al.'s 15 bins.
    public var schemes: [BinScheme] { ExperimentReport.schemes(info) }
    static func schemes(_ info: ExperimentInfo) -> [BinScheme] {
        let spec = info.ece.scheme
        return spec == .guo15 ? [spec] : [spec, .guo15]
    }
    /// SideNet calibration under the spec's ECE bins (Table 1, Figure 3).
    public var sideECE: AggregatedCalibration? { sideCalibration[info.ece.scheme] }
    /// MainNet calibration of the SideNet variant under the spec's ECE bins.
    public var mainECE: AggregatedCalibration? { mainCalibration[info.ece.scheme] }
}

/// The whole computed report.
public struct Report: Sendable {
    /// One entry per `ExperimentInfo`, in the given order.
    public var experiments: [ExperimentReport]
    /// Theta grid of the sweeps.
    public var thetas: [Double]
    /// Expected (experiment, variant) pairs with no finished runs, as "name (variant)", plus
    /// any figure that could not be drawn for lack of data. Never silently skipped: printed in
    /// every Markdown table.
    public var missing: [String]
    /// Experiments that have runs but no `ExperimentInfo` (ignored by tables and figures).
    public var unknownExperiments: [String]

    /// Computes sweeps, calibration and table inputs.
    /// - Parameters:
    ///   - runs: finished runs of any experiment and variant.
    ///   - experiments: the experiments to report, in table order.
    ///   - expected: (experiment, variant) pairs that should have runs; every experiment in
    ///     `experiments` is additionally expected with both variants (Table 2 needs both).
    ///   - thetas: sweep grid (default `ThetaGrid.standard()`).
    public static func build(runs: [RunResult], experiments: [ExperimentInfo],
                             expected: [(experiment: String, variant: Variant)],
                             thetas: [Double] = ThetaGrid.standard()) throws -> Report {
        var byKey = [String: [Variant: [RunResult]]]()
        var seen = Set<String>()
        for r in runs {
            let key = "\(r.experiment)\u{0}\(r.variant.rawValue)\u{0}\(r.seed)"
            guard seen.insert(key).inserted else {
                throw ReportError.duplicateRun(experiment: r.experiment, variant: r.variant, seed: r.seed)
            }
            byKey[r.experiment, default: [:]][r.variant, default: []].append(r)
        }
        func runsOf(_ e: String, _ v: Variant) -> [RunResult] {
            (byKey[e]?[v] ?? []).sorted { $0.seed < $1.seed }
        }

        var missing = [String]()
        func noteMissing(_ s: String) { if !missing.contains(s) { missing.append(s) } }
        for (e, v) in expected where runsOf(e, v).isEmpty { noteMissing("\(e) (\(v.rawValue))") }

        var reports = [ExperimentReport]()
        for info in experiments {
            for v in Variant.allCases where runsOf(info.name, v).isEmpty {
                noteMissing("\(info.name) (\(v.rawValue))")
            }
            reports.append(try experimentReport(info: info, sidenet: runsOf(info.name, .sidenet),
                                                baseline: runsOf(info.name, .baseline), thetas: thetas))
        }
        for r in reports where r.info.reliability && r.sideECE == nil {
            noteMissing("Figure 3: no \(r.info.name) SideNet runs (reliability diagram not drawn)")
        }
        let known = Set(experiments.map(\.name))
        let unknown = Set(runs.map(\.experiment)).subtracting(known).sorted()
        return Report(experiments: reports, thetas: thetas, missing: missing, unknownExperiments: unknown)
    }

    static func experimentReport(info: ExperimentInfo, sidenet: [RunResult], baseline: [RunResult],
                                 thetas: [Double]) throws -> ExperimentReport {
        let sweeps = try sidenet.map { try sweep(run: $0, thetas: thetas) }
        var side = [BinScheme: AggregatedCalibration]()
        var main = [BinScheme: AggregatedCalibration]()
        var base = [BinScheme: AggregatedCalibration]()
        for scheme in ExperimentReport.schemes(info) {
            side[scheme] = aggregate(try sidenet.map { r in
                (seed: r.seed, calibration: try calibration(run: r, head: .side, scheme: scheme)!)
            }, head: .side, scheme: scheme)
            main[scheme] = aggregate(try sidenet.map { r in
                (seed: r.seed, calibration: try calibration(run: r, head: .main, scheme: scheme)!)
            }, head: .main, scheme: scheme)
            base[scheme] = aggregate(try baseline.map { r in
                (seed: r.seed, calibration: try calibration(run: r, head: .main, scheme: scheme)!)
            }, head: .main, scheme: scheme)
        }
        return ExperimentReport(
            info: info, sweeps: sweeps, sweep: try aggregate(sweeps),
            baseline: try baselinePoint(baseline),
            mainAccuracyWithSideNet: meanStd(sweeps.map(\.mainAccuracy)),
            sideAccuracy: meanStd(sweeps.map(\.sideAccuracy)),
            sideCalibration: side, mainCalibration: main, baselineMainCalibration: base)
    }
}
