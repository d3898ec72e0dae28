import ArgumentParser
import Foundation
import Report
import Specs

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Threshold sweeps, ECE and gap sum, Tables 1-2 and the figures the specs declare (gnuplot) from the runs in the database.",
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
        // Names and labels come from the database: printed without control characters, so an
        // edited name cannot send escape sequences to the terminal.
        func clean(_ s: String) -> String {
            String(String.UnicodeScalarView(s.unicodeScalars.map { u in
                u.value < 0x20 || (0x7F...0x9F).contains(u.value) ? "?" : u
            }))
        }
        for u in loaded.unknown { printError("report: experiment \(clean(u)) has no runs in \(database.db)") }
        let plots = URL(fileURLWithPath: out), tablesDir = URL(fileURLWithPath: tables)
        for (dir, option) in [(plots, "--out"), (tablesDir, "--tables")] {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            } catch {
                throw ReportFolderError(option: option, path: dir.path, detail: error.localizedDescription)
            }
        }
        let summary = try ReportWriter.write(runs: loaded.runs, experiments: loaded.experiments, expected: loaded.expected,
                                             plotsDir: plots, tablesDir: tablesDir, render: !noRender)
        print("report: \(loaded.runs.count) finished runs of \(loaded.experiments.count) experiments")
        for url in summary.written { print("  wrote \(url.path)") }
        if !summary.gnuplotAvailable && !noRender { printError("report: gnuplot not found; scripts written, figures not rendered") }
        for w in summary.gnuplotWarnings { printError("report: gnuplot: \(clean(w))") }
        for n in summary.notes { printError("report: \(clean(n))") }
        for m in summary.missing { printError("report: missing \(clean(m))") }
        // θ choice, exit rules, diagnostics and timings (choose.md): from the same store.
        let choice = try ChoiceWriter.write(try ChooseReader.load(store, names: names).runs, plotsDir: plots,
                                            tablesDir: tablesDir, render: !noRender)
        for url in choice.files { print("  wrote \(url.path)") }
        for w in choice.gnuplotWarnings { printError("report: gnuplot: \(clean(w))") }
        for w in choice.warnings { printError("report: WARNING: \(clean(w))") }
    }
}

/// An output folder of `report` that cannot be created (one line naming the option and path).
struct ReportFolderError: Error, CustomStringConvertible {
    let option: String, path: String, detail: String
    var description: String { "report \(option) \(path): cannot create the folder (\(detail))" }
}
