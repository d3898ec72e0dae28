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

/// Quotes lines for a gnuplot double-quoted literal (lines joined by a "\n" escape).
func gpString(_ lines: String...) -> String {
    "\"" + lines.map {
        $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }.joined(separator: "\\n") + "\""
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
        set output \(gpString(base + ".png"))

        """
    let tail = """
        set terminal pdfcairo size 10in,7in font ",11"
        set output \(gpString(base + ".pdf"))
        replot
        unset output

        """
    return (head, tail)
}

extension Report {
    /// Data and scripts for Figure 2 (figure == 2, CIFAR-10 ResNets) and Figure 4 (figure == 4,
    /// SST-2 transformers), each against parameters and against FLOPs per input, and Figure 3
    /// (reliability diagram of the ResNet50 SideNet vs its MainNet, paper's 8 bins).
    public func figureFiles() -> FigureFiles {
        var out = FigureFiles(files: [], scripts: [], notes: [])
        for figure in [2, 4] { accuracyFigure(figure, into: &out) }
        reliabilityFigure(into: &out)
        return out
    }

    func accuracyFigure(_ figure: Int, into out: inout FigureFiles) {
        let exps = experiments.filter { $0.info.figure == figure }
        let drawn = exps.filter { !$0.sweep.isEmpty || $0.baseline != nil }
        let dataset = datasetName(figure: figure)
        guard !drawn.isEmpty else {
            out.notes.append("Figure \(figure) (\(dataset)) not drawn: "
                + (exps.isEmpty ? "no experiments with figure \(figure)" : "no finished runs"))
            return
        }
        let stem = "figure\(figure)"
        // Sidenet curves: one block per MainNet (gnuplot `index`), two blank lines apart.
        var side = "# Figure \(figure) (\(dataset)): SideNet early-exit sweep, mean and sample std over seeds\n"
        side += "# theta params_M params_M_std gflops gflops_std acc_pct acc_pct_std fraction_side\n"
        var base = "# Figure \(figure) (\(dataset)): MainNet alone (no SideNet), mean and sample std over seeds\n"
        base += "# params_M params_M_std gflops gflops_std acc_pct acc_pct_std\n"
        var sideIndex = [String: Int](), baseIndex = [String: Int]()
        for e in drawn {
            if !e.sweep.isEmpty {
                side += sideIndex.isEmpty ? "" : "\n\n"
                sideIndex[e.info.name] = sideIndex.count
                side += "# \(e.info.label) (\(e.info.name)), \(e.sweeps.count) seeds\n"
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
                base += "# \(e.info.label) (\(e.info.name)), \(b.seeds) seeds\n"
                base += [b.paramsPerInput.mean / 1e6, b.paramsPerInput.std / 1e6,
                         b.flopsPerInput.mean / 1e9, b.flopsPerInput.std / 1e9,
                         b.accuracy.mean, b.accuracy.std].map(dat).joined(separator: " ") + "\n"
            }
        }
        out.files.append(GeneratedFile(name: "\(stem)_sidenet.dat", contents: side))
        out.files.append(GeneratedFile(name: "\(stem)_baseline.dat", contents: base))

        let synthetic = drawn.contains { $0.info.synthetic }
        let seeds = seedsPhrase(drawn.flatMap { e in
            [e.sweep.isEmpty ? nil : e.sweeps.count, e.baseline?.seeds].compactMap { $0 } })
        let models = figure == 2 ? "ResNets" : "transformers"
        // Error bars on every grid point would hide the curves: draw them on every 5th theta.
        let errorBarStride = 5
        for axis in ComputeAxis.allCases {
            let name = "\(stem)_\(axis.rawValue)"
            let xcol = axis == .params ? (side: 2, base: 1) : (side: 4, base: 3)
            var title = "Figure \(figure). \(dataset): test accuracy vs \(axis.phrase)"
            if synthetic { title += " — synthetic stand-in data" }
            let subtitle = "\(models) with SideNets (θ = \(dat(thetas.first)) … \(dat(thetas.last)), "
                + "error bars at every \(errorBarStride)th θ) and without; mean ± std over \(seeds)"
            var plots = [String]()
            for (i, e) in drawn.enumerated() {
                let color = i + 1
                if let k = sideIndex[e.info.name] {
                    let data = gpString("\(stem)_sidenet.dat")
                    plots.append("\(data) index \(k) using \(xcol.side):6 with lines lc \(color) lw 2 "
                        + "title \(gpString("\(e.info.label) + SideNet"))")
                    plots.append("\(data) index \(k) every \(errorBarStride) using \(xcol.side):6:7 "
                        + "with yerrorbars lc \(color) pt 7 ps 0.4 notitle")
                }
                if let k = baseIndex[e.info.name] {
                    plots.append("\(gpString("\(stem)_baseline.dat")) index \(k) using \(xcol.base):5:6 "
                        + "with yerrorbars lc \(color) pt 5 ps 2 title \(gpString("\(e.info.label), no SideNet"))")
                }
            }
            let io = outputs(name)
            let script = """
                # \(title)
                # Generated by sidenet Report; run inside this directory: gnuplot \(name).gp
                # Data: \(stem)_sidenet.dat (one index per MainNet, theta sweep, early exit when side_conf >= theta),
                #       \(stem)_baseline.dat (MainNet alone). Error bars: sample std over seeds.
                set encoding utf8
                \(io.head)set title \(gpString(title, subtitle)) noenhanced
                set xlabel \(gpString(axis.label)) noenhanced
                set ylabel "Test accuracy (%)" noenhanced
                set key outside right top vertical box noenhanced
                set grid
                set errorbars small
                set datafile missing "?"
                plot \\
                  \(plots.joined(separator: ", \\\n  "))
                \(io.tail)
                """
            out.files.append(GeneratedFile(name: "\(name).gp", contents: script))
            out.scripts.append("\(name).gp")
        }
    }

    func reliabilityFigure(into out: inout FigureFiles) {
        guard let e = experiments.first(where: { $0.info.figure == 2 && $0.info.label == Report.figure3Label }),
              let side = e.sideCalibration[.paper8], let main = e.mainCalibration[.paper8] else {
            out.notes.append("Figure 3 not drawn: no \(Report.figure3Label) SideNet runs")
            return
        }
        let name = "figure3_reliability"
        var d = "# Figure 3: \(e.info.label) (\(e.info.name)) reliability diagram, paper's 8 bins on [0.2, 1.0], "
            + "\(side.perSeed.count) seeds\n"
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
        let dataset = datasetName(figure: e.info.figure)
        var title = "Figure 3. \(dataset) \(e.info.label): reliability, SideNet vs MainNet"
        if e.info.synthetic { title += " — synthetic stand-in data" }
        let subtitle = "8 bins; accuracy per bin, mean ± std over \(seedsPhrase([side.perSeed.count])); "
            + "ECE SideNet \(ReportTable.format(side.ecePercent)) %, MainNet \(ReportTable.format(main.ecePercent)) %"
        let io = outputs(name)
        let script = """
            # \(title)
            # Generated by sidenet Report; run inside this directory: gnuplot \(name).gp
            set encoding utf8
            \(io.head)set title \(gpString(title, subtitle)) noenhanced
            set xlabel "Confidence (%)" noenhanced
            set ylabel "Accuracy (%)" noenhanced
            set xrange [20:100]
            set yrange [0:105]
            set xtics 20,10,100
            set key left top box opaque noenhanced
            set grid
            set style fill solid 0.55 border -1
            set boxwidth 4
            set datafile missing "?"
            plot \\
              \(gpString("\(name).dat")) using ($4-2.2):5:6 with boxerrorbars lc rgb "#1f77b4" title "SideNet (accuracy ± std)", \\
              \(gpString("\(name).dat")) using ($4+2.2):9:10 with boxerrorbars lc rgb "#d62728" title "MainNet (accuracy ± std)", \\
              x with lines dt 2 lw 1.5 lc rgb "black" title "perfect calibration"
            \(io.tail)
            """
        out.files.append(GeneratedFile(name: "\(name).gp", contents: script))
        out.scripts.append("\(name).gp")
    }
}
