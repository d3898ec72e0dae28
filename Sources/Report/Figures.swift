import Foundation

// gnuplot scripts and data files for Figures 2-4. Scripts use file names relative to the plots
// directory (run `gnuplot figure2_params.gp` inside it); each writes a PNG (pngcairo 1000x700)
// and a PDF (pdfcairo) of the same plot.

/// One generated file (name relative to the plots directory).
public struct GeneratedFile: Sendable, Hashable {
    public var name: String
    public var contents: String
}

/// The figure files of a report: data, scripts, and notes on figures not drawn.
public struct FigureFiles: Sendable {
    public var files: [GeneratedFile]
    /// Names of the .gp scripts, in rendering order.
    public var scripts: [String]
    /// Figures skipped for lack of data.
    public var notes: [String]
}

/// The x-axis measure of an accuracy/compute figure.
public enum ComputeAxis: String, Sendable, CaseIterable {
    case params
    case flops

    var label: String {
        switch self {
        case .params: return "Average parameters per input (millions)"
        case .flops: return "Average FLOPs per input (GFLOPs)"
        }
    }
    var phrase: String {
        switch self {
        case .params: return "average parameters per input"
        case .flops: return "average FLOPs per input"
        }
    }
}

func dat(_ x: Double?) -> String {
    guard let x, x.isFinite else { return "?" }
    return String(format: "%.8g", x)
}

func seedsPhrase(_ counts: [Int]) -> String {
    let lo = counts.min() ?? 0, hi = counts.max() ?? 0
    return lo == hi ? "\(lo) seed\(lo == 1 ? "" : "s")" : "\(lo)–\(hi) seeds"
}

func outputs(_ base: String) -> (head: String, tail: String) {
    let head = """
        set terminal pngcairo size 1000,700 font ",11"
        set output \(gpQuote(base + ".png"))

        """
    let tail = """
        set terminal pdfcairo size 10in,7in font ",11"
        set output \(gpQuote(base + ".pdf"))
        replot
        unset output

        """
    return (head, tail)
}

extension Report {
    /// The figure numbers declared by the experiments (`paper.figure`), ascending.
    public var declaredFigures: [Int] { Array(Set(experiments.map(\.info.figure))).sorted() }

    /// Data and scripts for every declared accuracy figure N (the experiments whose
    /// `paper.figure` is N; the paper's Figure 2 is CIFAR-10 ResNets, Figure 4 SST-2
    /// transformers), each against parameters and against FLOPs per input, then Figure 3:
    /// a reliability diagram (SideNet vs its MainNet, the spec's ECE bins) of each experiment
    /// that declares `paper.reliability: true`.
    public func figureFiles() -> FigureFiles {
        var out = FigureFiles(files: [], scripts: [], notes: [])
        for figure in declaredFigures { accuracyFigure(figure, into: &out) }
        let reliable = experiments.filter(\.info.reliability)
        if reliable.isEmpty {
            out.notes.append("Figure 3 not drawn: no experiment declares paper.reliability: true")
        }
        for (i, e) in reliable.enumerated() {
            reliabilityFigure(e, name: i == 0 ? "figure3_reliability" : "figure3_reliability_\(i + 1)", into: &out)
        }
        return out
    }

    /// Display name of the dataset(s) of the experiments drawn in one figure.
    func figureDataset(of exps: [ExperimentReport], figure: Int) -> String {
        exps.isEmpty ? datasetName(figure: figure) : datasetNames(exps.map(\.info))
    }

    func accuracyFigure(_ figure: Int, into out: inout FigureFiles) {
        let exps = experiments.filter { $0.info.figure == figure }
        let drawn = exps.filter { !$0.sweep.isEmpty || $0.baseline != nil }
        let dataset = figureDataset(of: exps, figure: figure)
        guard !drawn.isEmpty else {
            out.notes.append("Figure \(figure) (\(dataset)) not drawn: "
                + (exps.isEmpty ? "no experiments with figure \(figure)" : "no finished runs"))
            return
        }
        let stem = "figure\(figure)"
        let indices = accuracyData(drawn, figure: figure, dataset: dataset, stem: stem, into: &out)
        let synthetic = drawn.contains { $0.info.synthetic }
        let seeds = seedsPhrase(drawn.flatMap { e in
            [e.sweep.isEmpty ? nil : e.sweeps.count, e.baseline?.seeds].compactMap { $0 } })
        for axis in ComputeAxis.allCases {
            var title = "Figure \(figure). \(dataset): test accuracy vs \(axis.phrase)"
            if synthetic { title += " — synthetic stand-in data" }
            let subtitle = "MainNets with SideNets (θ = \(dat(thetas.first)) … \(dat(thetas.last)), "
                + "error bars at every \(Self.errorBarStride)th θ) and without; mean ± std over \(seeds)"
            let name = "\(stem)_\(axis.rawValue)"
            out.files.append(GeneratedFile(name: "\(name).gp", contents: accuracyScript(
                drawn, axis: axis, stem: stem, name: name, title: title, subtitle: subtitle, indices: indices)))
            out.scripts.append("\(name).gp")
        }
    }

    /// Error bars on every grid point would hide the curves: they are drawn on every 5th θ.
    static let errorBarStride = 5

    /// The two data files of an accuracy figure: the SideNet sweeps and the MainNets alone, one
    /// gnuplot `index` block per experiment (two blank lines apart). Returns each experiment's
    /// block in either file (absent: nothing to draw).
    private func accuracyData(_ drawn: [ExperimentReport], figure: Int, dataset: String, stem: String,
                              into out: inout FigureFiles) -> (side: [String: Int], base: [String: Int]) {
        var side = "# Figure \(figure) (\(dataset)): SideNet early-exit sweep, mean and sample std over seeds\n"
        side += "# theta params_M params_M_std gflops gflops_std acc_pct acc_pct_std fraction_side\n"
        var base = "# Figure \(figure) (\(dataset)): MainNet alone (no SideNet), mean and sample std over seeds\n"
        base += "# params_M params_M_std gflops gflops_std acc_pct acc_pct_std\n"
        var sideIndex = [String: Int](), baseIndex = [String: Int]()
        for e in drawn {
            if !e.sweep.isEmpty {
                side += sideIndex.isEmpty ? "" : "\n\n"
                sideIndex[e.info.name] = sideIndex.count
                side += "# " + gpComment("\(e.info.label) (\(e.info.name)), \(e.sweeps.count) seeds") + "\n"
                for p in e.sweep {
                    side += [p.theta, p.paramsPerInput.mean / 1e6, p.paramsPerInput.std / 1e6,
                             p.flopsPerInput.mean / 1e9, p.flopsPerInput.std / 1e9,
                             p.accuracy.mean, p.accuracy.std, p.fractionSide.mean]
                        .map(dat).joined(separator: " ") + "\n"
                }
            }
            if let b = e.baseline {
                base += baseIndex.isEmpty ? "" : "\n\n"
                baseIndex[e.info.name] = baseIndex.count
                base += "# " + gpComment("\(e.info.label) (\(e.info.name)), \(b.seeds) seeds") + "\n"
                base += [b.paramsPerInput.mean / 1e6, b.paramsPerInput.std / 1e6,
                         b.flopsPerInput.mean / 1e9, b.flopsPerInput.std / 1e9,
                         b.accuracy.mean, b.accuracy.std].map(dat).joined(separator: " ") + "\n"
            }
        }
        out.files.append(GeneratedFile(name: "\(stem)_sidenet.dat", contents: side))
        out.files.append(GeneratedFile(name: "\(stem)_baseline.dat", contents: base))
        return (sideIndex, baseIndex)
    }

    /// The gnuplot script of an accuracy figure against one compute axis.
    private func accuracyScript(_ drawn: [ExperimentReport], axis: ComputeAxis, stem: String, name: String,
                                title: String, subtitle: String,
                                indices: (side: [String: Int], base: [String: Int])) -> String {
        let xcol = axis == .params ? (side: 2, base: 1) : (side: 4, base: 3)
        let errorBarStride = Self.errorBarStride
        var plots = [String]()
        for (i, e) in drawn.enumerated() {
            let color = i + 1
            if let k = indices.side[e.info.name] {
                let data = gpQuote("\(stem)_sidenet.dat")
                plots.append("\(data) index \(k) using \(xcol.side):6 with lines lc \(color) lw 2 "
                    + "title \(gpQuote("\(e.info.label) + SideNet"))")
                plots.append("\(data) index \(k) every \(errorBarStride) using \(xcol.side):6:7 "
                    + "with yerrorbars lc \(color) pt 7 ps 0.4 notitle")
            }
            if let k = indices.base[e.info.name] {
                plots.append("\(gpQuote("\(stem)_baseline.dat")) index \(k) using \(xcol.base):5:6 "
                    + "with yerrorbars lc \(color) pt 5 ps 2 title \(gpQuote("\(e.info.label), no SideNet"))")
            }
        }
        let io = outputs(name)
        return """
            # \(gpComment(title))
            # Generated by sidenet Report; run inside this directory: gnuplot \(name).gp
            # Data: \(stem)_sidenet.dat (one index per MainNet, theta sweep, early exit when side_conf >= theta),
            #       \(stem)_baseline.dat (MainNet alone). Error bars: sample std over seeds.
            set encoding utf8
            \(io.head)set title \(gpLines(title, subtitle)) noenhanced
            set xlabel \(gpQuote(axis.label)) noenhanced
            set ylabel 'Test accuracy (%)' noenhanced
            set key outside right top vertical box noenhanced
            set grid
            set errorbars small
            set datafile missing '?'
            plot \\
              \(plots.joined(separator: ", \\\n  "))
            \(io.tail)
            """
    }

    func reliabilityFigure(_ e: ExperimentReport, name: String, into out: inout FigureFiles) {
        guard let side = e.sideECE, let main = e.mainECE else {
            out.notes.append("Figure 3 (\(gpOneLine(e.info.label))) not drawn: no SideNet runs of \(e.info.name)")
            return
        }
        let scheme = side.scheme
        var d = "# " + gpComment("Figure 3: \(e.info.label) (\(e.info.name)) reliability diagram, \(scheme.phrase), "
            + "\(side.perSeed.count) seeds") + "\n"
        d += "# accuracy and confidence in percent, mean and sample std over seeds with a non-empty bin; ? = empty bin\n"
        d += "# bin lo_pct hi_pct center_pct side_acc side_acc_std side_conf side_count main_acc main_acc_std main_conf main_count\n"
        func pct(_ x: Double?) -> String { dat(x.map { 100 * $0 }) }
        for b in 0..<side.bins.count {
            let s = side.bins[b], m = main.bins[b]
            d += ["\(b)", dat(100 * s.lower), dat(100 * s.upper), dat(50 * (s.lower + s.upper)),
                  pct(s.accuracy?.mean), pct(s.accuracy?.std), pct(s.meanConfidence?.mean), "\(s.totalCount)",
                  pct(m.accuracy?.mean), pct(m.accuracy?.std), pct(m.meanConfidence?.mean), "\(m.totalCount)"]
                .joined(separator: " ") + "\n"
        }
        out.files.append(GeneratedFile(name: "\(name).dat", contents: d))
        let dataset = figureDataset(of: [e], figure: e.info.figure)
        var title = "Figure 3. \(dataset) \(e.info.label): reliability, SideNet vs MainNet"
        if e.info.synthetic { title += " — synthetic stand-in data" }
        let f = ReportTable.format
        let subtitle = "\(scheme.phrase); accuracy per bin, mean ± std over \(seedsPhrase([side.perSeed.count]))"
        let weighted = "weighted ECE: SideNet \(f(side.ecePercent)) %, MainNet \(f(main.ecePercent)) %"
        let gapSum = "unweighted bin gap sum: SideNet \(f(side.binGapSum)), MainNet \(f(main.binGapSum))"
        // Axis in percent over the spec's range; bars share each bin, side left, main right.
        let lo = 100 * scheme.low, hi = 100 * scheme.high, width = (hi - lo) / Double(scheme.binCount)
        let tics = scheme.binCount <= 20 ? "set xtics \(dat(lo)),\(dat(width)),\(dat(hi))" : "set xtics autofreq"
        let data = gpQuote("\(name).dat")
        let io = outputs(name)
        let script = """
            # \(gpComment(title))
            # Generated by sidenet Report; run inside this directory: gnuplot \(name).gp
            set encoding utf8
            \(io.head)set title \(gpLines(title, subtitle, weighted, gapSum)) noenhanced
            set xlabel 'Confidence (%)' noenhanced
            set ylabel 'Accuracy (%)' noenhanced
            set xrange [\(dat(lo)):\(dat(hi))]
            set yrange [0:105]
            \(tics)
            set key left top box opaque noenhanced
            set grid
            set style fill solid 0.55 border -1
            set boxwidth \(dat(0.4 * width))
            set datafile missing '?'
            plot \\
              \(data) using ($4-\(dat(0.22 * width))):5:6 with boxerrorbars lc rgb '#1f77b4' title 'SideNet (accuracy ± std)', \\
              \(data) using ($4+\(dat(0.22 * width))):9:10 with boxerrorbars lc rgb '#d62728' title 'MainNet (accuracy ± std)', \\
              x with lines dt 2 lw 1.5 lc rgb 'black' title 'perfect calibration'
            \(io.tail)
            """
        out.files.append(GeneratedFile(name: "\(name).gp", contents: script))
        out.scripts.append("\(name).gp")
    }
}
