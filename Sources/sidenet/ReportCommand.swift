import ArgumentParser
import Foundation
import Report
import Specs

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Threshold sweeps, ECE, Tables 1-2 and Figures 2-4 (gnuplot) from the runs in the database.",
        discussion: "Experiments are named, or given as spec files; none means every experiment in the database.")

    @OptionGroup var database: DatabaseOption

    @Option(help: "Folder for the figures (gnuplot scripts, data, PNG, PDF).")
    var out: String = "plots"

    @Option(help: "Folder for the tables (Markdown, LaTeX, CSV) and sweep/calibration CSVs.")
    var tables: String = "results"

    @Flag(help: "Write gnuplot scripts and data only; do not run gnuplot.")
    var noRender = false

    @Argument(help: "Experiment names or spec files.")
    var experiments: [String] = []

    func run() throws {
        try checkOutputDirectory(out, option: "--out")
        try checkOutputDirectory(tables, option: "--tables")
        let store = try database.openReadOnly()
        var names: [String]? = nil
        if !experiments.isEmpty {
            names = try experiments.map { e in
                e.hasSuffix(".yaml") || e.hasSuffix(".yml") ? try ExperimentSpec.load(URL(fileURLWithPath: e)).name : e
            }
        }
        let loaded = try StoreReader.load(store, names: names)
        for u in loaded.unknown { printError("report: experiment \(u) has no runs in \(database.db)") }
        let plots = URL(fileURLWithPath: out), tablesDir = URL(fileURLWithPath: tables)
        try FileManager.default.createDirectory(at: plots, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: tablesDir, withIntermediateDirectories: true)
        let summary = try ReportWriter.write(runs: loaded.runs, experiments: loaded.experiments, expected: loaded.expected,
                                             plotsDir: plots, tablesDir: tablesDir, render: !noRender)
        print("report: \(loaded.runs.count) finished runs of \(loaded.experiments.count) experiments")
        for url in summary.written { print("  wrote \(url.path)") }
        if !summary.gnuplotAvailable && !noRender { printError("report: gnuplot not found; scripts written, figures not rendered") }
        for w in summary.gnuplotWarnings { printError("report: gnuplot: \(w)") }
        for n in summary.notes { printError("report: \(n)") }
        for m in summary.missing { printError("report: missing \(m)") }
    }
}
