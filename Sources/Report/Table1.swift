import Foundation

// Table 1 of the paper: ECE of SideNets and MainNets beside the paper's numbers. Two measures
// from the same bins (the spec's `evaluation.ece`, the paper's 8 bins on [0.2, 1] by default):
// the weighted ECE of the paper's formula, in percent, and the unweighted sum of the per-bin
// gaps |acc(i) − conf(i)| as a fraction — the paper's printed values match the latter in size
// and in their MainNet/SideNet ratio (issue 15), so both stand beside the paper's column.

extension Report {
    /// Experiments that belong in Table 1, as the specs declare it: every experiment drawn in a
    /// figure (`paper.figure`) that holds an experiment with the paper's Table 1 numbers
    /// (`paper.table1`; the paper's Table 1 covers the MainNets of one figure); with no Table 1
    /// numbers anywhere, every experiment.
    public var table1Experiments: [ExperimentReport] {
        let figures = Set(experiments.filter { $0.info.paper.table1SideNetECE != nil || $0.info.paper.table1MainNetECE != nil }
            .map(\.info.figure))
        return figures.isEmpty ? experiments : experiments.filter { figures.contains($0.info.figure) }
    }

    /// Table 1: SideNet and MainNet calibration of the SideNet variant (the spec's ECE bins),
    /// weighted ECE (%) and unweighted bin gap sum, mean ± sample std over seeds, beside the
    /// paper; the 15-bin ECE and the count of confidences below the range beside them.
    public func table1() -> ReportTable {
        let exps = table1Experiments
        let infos = exps.map(\.info)
        let schemes = Set(exps.map(\.info.ece))
        let lows = Set(exps.map(\.info.ece.low))
        let anyAbove = exps.contains { $0.info.ece.high < 1 }
        var rows = [[Cell]](), csv = [[String]]()
        for e in exps {
            let s8 = e.sideECE, m8 = e.mainECE
            let s15 = e.sideCalibration[.guo15], m15 = e.mainCalibration[.guo15]
            let p = e.info.paper
            func ece(_ a: AggregatedCalibration?) -> Cell { a.map { .value($0.ecePercent) } ?? .missing }
            func gap(_ a: AggregatedCalibration?) -> Cell { a.map { .value($0.binGapSum) } ?? .missing }
            func paper(_ v: MeanStd?) -> Cell { v.map { .value($0) } ?? .none }
            let below = s8.map { "\($0.belowRange) / \(m8?.belowRange ?? 0)" } ?? "—"
            var row: [Cell] = [.text(rowLabel(e.info, infos)),
                               ece(s8), paper(p.table1SideNetECE), gap(s8),
                               ece(m8), paper(p.table1MainNetECE), gap(m8),
                               ece(s15), ece(m15), .text(below)]
            if anyAbove { row.append(.text(s8.map { "\($0.aboveRange) / \(m8?.aboveRange ?? 0)" } ?? "—")) }
            row.append(.text("\(e.sweeps.count)"))
            rows.append(row)
            csv.append([e.info.label, e.info.name, "\(e.sweeps.count)",
                        num(s8?.ecePercent.mean), num(s8?.ecePercent.std),
                        num(p.table1SideNetECE?.mean), num(p.table1SideNetECE?.std),
                        num(m8?.ecePercent.mean), num(m8?.ecePercent.std),
                        num(p.table1MainNetECE?.mean), num(p.table1MainNetECE?.std),
                        num(s15?.ecePercent.mean), num(s15?.ecePercent.std),
                        num(m15?.ecePercent.mean), num(m15?.ecePercent.std),
                        s8.map { "\($0.belowRange)" } ?? "", m8.map { "\($0.belowRange)" } ?? "",
                        e.info.synthetic ? "true" : "false",
                        num(s8?.binGapSum.mean), num(s8?.binGapSum.std),
                        num(m8?.binGapSum.mean), num(m8?.binGapSum.std),
                        e.info.ece.scheme.rawValue,
                        s8.map { "\($0.aboveRange)" } ?? "", m8.map { "\($0.aboveRange)" } ?? ""])
        }
        let bins = schemes.count == 1 ? "the spec's " + schemes.first!.scheme.phrase
            : "each experiment's evaluation.ece bins (CSV column ece_bins)"
        let lowText = lows.count == 1 ? ReportTable.short(lows.first!) : "low"
        var columns = ["MainNet", "SideNet ECE (%)", "Paper SideNet ECE", "SideNet gap sum",
                       "MainNet ECE (%)", "Paper MainNet ECE", "MainNet gap sum",
                       "SideNet ECE-15 (%)", "MainNet ECE-15 (%)", "Conf < \(lowText)"]
        if anyAbove { columns.append("Conf > high") }
        columns.append("Seeds")
        return ReportTable(
            title: "Table 1: ECE of SideNets and MainNets" + (infos.isEmpty ? "" : " (\(datasetNames(infos)) test set)"),
            caption: "Calibration over \(bins) (left-closed, last bin closed; confidences outside the range "
                + "merged into the end bins, counted in the \"Conf\" columns as SideNet / MainNet inputs summed "
                + "over seeds), mean ± sample std (n − 1) over seeds. ECE (%): weighted ECE "
                + "Σ (n_i / n) |acc(i) − conf(i)| in percent; gap sum: unweighted Σ |acc(i) − conf(i)| over "
                + "non-empty bins, as a fraction. ECE-15: Guo et al. 15 bins on [0, 1]." + dataNote(infos),
            columns: columns,
            rows: rows,
            csvHeader: ["model", "experiment", "seeds",
                        "sidenet_ece_pct_mean", "sidenet_ece_pct_std",
                        "paper_sidenet_ece_pct_mean", "paper_sidenet_ece_pct_std",
                        "mainnet_ece_pct_mean", "mainnet_ece_pct_std",
                        "paper_mainnet_ece_pct_mean", "paper_mainnet_ece_pct_std",
                        "sidenet_ece15_pct_mean", "sidenet_ece15_pct_std",
                        "mainnet_ece15_pct_mean", "mainnet_ece15_pct_std",
                        "sidenet_below_0_2", "mainnet_below_0_2", "synthetic",
                        "sidenet_bin_gap_sum_mean", "sidenet_bin_gap_sum_std",
                        "mainnet_bin_gap_sum_mean", "mainnet_bin_gap_sum_std",
                        "ece_bins", "sidenet_above_high", "mainnet_above_high"],
            csvRows: csv, missing: missing, note: table1Reading(exps))
    }

    /// The sentence under Table 1: which measure the paper's numbers are read as, and the
    /// evidence (magnitudes, and MainNet/SideNet ratios of both measures and of the paper).
    func table1Reading(_ exps: [ExperimentReport]) -> String {
        func ratio(_ pairs: [(side: Double, main: Double)]) -> String? {
            let side = pairs.map(\.side).reduce(0, +), main = pairs.map(\.main).reduce(0, +)
            guard !pairs.isEmpty, side > 0 else { return nil }
            return String(format: "%.1f", main / side)
        }
        func range(_ xs: [Double]) -> String {
            let lo = String(format: "%.2f", xs.min()!), hi = String(format: "%.2f", xs.max()!)
            return lo == hi ? lo : "\(lo)–\(hi)"
        }
        let paper = exps.compactMap { e -> (side: Double, main: Double)? in
            guard let s = e.info.paper.table1SideNetECE, let m = e.info.paper.table1MainNetECE else { return nil }
            return (s.mean, m.mean)
        }
        let weighted = exps.compactMap { e in
            e.sideECE.flatMap { s in e.mainECE.map { (side: s.ecePercent.mean, main: $0.ecePercent.mean) } } }
        let gaps = exps.compactMap { e in
            e.sideECE.flatMap { s in e.mainECE.map { (side: s.binGapSum.mean, main: $0.binGapSum.mean) } } }
        var s = "Reading: the paper's Table 1 values"
        if !paper.isEmpty {
            s += " (SideNet \(range(paper.map(\.side))), MainNet \(range(paper.map(\.main))))"
        }
        s += " match in size the unweighted gap sum, not the weighted ECE in percent of the formula in the "
            + "paper's text, so compare the paper's columns with the gap sums"
        var evidence = [String]()
        if let r = ratio(paper) { evidence.append("the paper's MainNet/SideNet ratio is \(r)") }
        if let r = ratio(gaps) { evidence.append("ours is \(r) for the gap sum") }
        if let r = ratio(weighted) { evidence.append("\(r) for the weighted ECE") }
        if !gaps.isEmpty {
            evidence.append("our gap sums are SideNet \(range(gaps.map(\.side))), MainNet \(range(gaps.map(\.main)))")
        }
        if !evidence.isEmpty { s += " (evidence: " + evidence.joined(separator: "; ") + ")" }
        return s + "."
    }
}
