import Foundation

/// What `ReportWriter.write` produced.
public struct ReportSummary: Sendable {
    /// The computed report (sweeps, calibration, tables).
    public var report: Report
    /// Every file written (tables, CSVs, .gp, .dat, and rendered .png/.pdf).
    public var written: [URL]
    /// True when gnuplot ran on every script (render requested and gnuplot on PATH).
    public var rendered: Bool
    /// True when gnuplot was found on PATH.
    public var gnuplotAvailable: Bool
    /// gnuplot stderr output of successful runs, per script.
    public var gnuplotWarnings: [String]
    /// Missing runs and figures (same as `report.missing`).
    public var missing: [String]
    /// Figures not drawn, experiments with runs but no info.
    public var notes: [String]
}

/// Writes the whole report: tables, sweep and calibration CSVs, gnuplot figures.
public struct ReportWriter {
    /// Computes the report and writes:
    /// - tablesDir: table1.md/.tex/.csv, table2.md/.tex/.csv, and per experiment
    ///   sweeps_<experiment>.csv, sweeps_<experiment>_per_seed.csv, calibration_<experiment>.csv
    ///   (experiment names sanitized to [A-Za-z0-9._-]);
    /// - plotsDir: figureN_{params,flops}.gp for every declared `paper.figure` N,
    ///   figure3_reliability[_K].gp for each experiment declaring `paper.reliability`, their .dat
    ///   files, and, when `render` is true and gnuplot is on PATH, the .png and .pdf of each.
    ///   Labels enter scripts only as single-quoted gnuplot literals (see GnuplotText.swift).
    /// Directories are created if needed. Throws on write errors and gnuplot failures.
    public static func write(runs: [RunResult], experiments: [ExperimentInfo],
                             expected: [(experiment: String, variant: Variant)],
                             plotsDir: URL, tablesDir: URL, render: Bool,
                             thetas: [Double] = ThetaGrid.standard()) throws -> ReportSummary {
        let report = try Report.build(runs: runs, experiments: experiments, expected: expected,
                                      thetas: thetas)
        var written = [URL]()
        func put(_ text: String, _ dir: URL, _ name: String) throws {
            let url = dir.appendingPathComponent(name)
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url, options: .atomic)
            } catch {
                throw ReportError.writeFailed(path: url.path, detail: error.localizedDescription)
            }
            written.append(url)
        }
        let t1 = report.table1(), t2 = report.table2()
        try put(t1.markdown(), tablesDir, "table1.md")
        try put(t1.latex(), tablesDir, "table1.tex")
        try put(t1.csv(), tablesDir, "table1.csv")
        try put(t2.markdown(), tablesDir, "table2.md")
        try put(t2.latex(), tablesDir, "table2.tex")
        try put(t2.csv(), tablesDir, "table2.csv")
        for e in report.experiments {
            let stem = safeFileName(e.info.name)
            try put(report.sweepCSV(e), tablesDir, "sweeps_\(stem).csv")
            try put(report.sweepPerSeedCSV(e), tablesDir, "sweeps_\(stem)_per_seed.csv")
            try put(report.calibrationCSV(e), tablesDir, "calibration_\(stem).csv")
        }
        let figs = report.figureFiles()
        for f in figs.files { try put(f.contents, plotsDir, f.name) }
        if figs.files.isEmpty {
            try FileManager.default.createDirectory(at: plotsDir, withIntermediateDirectories: true)
        }

        var warnings = [String]()
        let available = Gnuplot.executable() != nil
        var rendered = false
        if render && available && !figs.scripts.isEmpty {
            rendered = try Gnuplot.render(scripts: figs.scripts, in: plotsDir, warnings: &warnings)
            if rendered {
                for s in figs.scripts {
                    let base = String(s.dropLast(3))
                    for ext in ["png", "pdf"] {
                        let url = plotsDir.appendingPathComponent("\(base).\(ext)")
                        if FileManager.default.fileExists(atPath: url.path) { written.append(url) }
                    }
                }
            }
        }
        var notes = figs.notes
        if !report.unknownExperiments.isEmpty {
            notes.append("runs of experiments without info ignored: "
                + report.unknownExperiments.joined(separator: ", "))
        }
        return ReportSummary(report: report, written: written, rendered: rendered,
                             gnuplotAvailable: available, gnuplotWarnings: warnings,
                             missing: report.missing, notes: notes)
    }

    /// Keeps [A-Za-z0-9._-], replaces anything else with "_".
    public static func safeFileName(_ s: String) -> String {
        String(s.map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "_" || c == "-") ? c : "_"
        })
    }
}
