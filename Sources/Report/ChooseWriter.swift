import Foundation

/// Writes the threshold-choice section (choose.md, CSVs, gnuplot figures) next to the report.
public enum ChoiceWriter {
    public struct Written: Sendable {
        public var files: [URL]
        public var gnuplotWarnings: [String]
        /// Report warnings (degenerate sweeps, runs without validation rows).
        public var warnings: [String]
    }

    public static func write(_ runs: [ChooseRun], plotsDir: URL, tablesDir: URL, render: Bool) throws -> Written {
        let exps = try ChoiceReport.build(runs)
        let files = ChoiceFiles.make(exps)
        var written = [URL]()
        for (dir, list) in [(tablesDir, files.tables), (plotsDir, files.plots)] {
            for f in list {
                let url = dir.appendingPathComponent(f.name)
                do {
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    try Data(f.contents.utf8).write(to: url, options: .atomic)
                } catch {
                    throw ReportError.writeFailed(path: url.path, detail: "\(error)")
                }
                written.append(url)
            }
        }
        var warnings = [String]()
        if render && !files.scripts.isEmpty, try Gnuplot.render(scripts: files.scripts, in: plotsDir, warnings: &warnings) {
            for s in files.scripts {
                for ext in ["png", "pdf"] {
                    let url = plotsDir.appendingPathComponent(String(s.dropLast(3)) + "." + ext)
                    if FileManager.default.fileExists(atPath: url.path) { written.append(url) }
                }
            }
        }
        return Written(files: written, gnuplotWarnings: warnings, warnings: exps.flatMap(\.warnings))
    }
}
