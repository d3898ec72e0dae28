import Foundation
import XCTest
import Report

/// Issue 9 item 1: text from a spec or a database reaches gnuplot only as literal text.
/// Every hostile label tries to create a marker file; real gnuplot renders the figures and the
/// marker must not appear, while the scripts carry the label verbatim in a single-quoted string.
final class GnuplotQuotingTests: XCTestCase {
    /// Hostile labels; `MARKER` is replaced by the marker file's path.
    static let hostile: [(String, String)] = [
        ("backtick", "Res`touch MARKER`Net"),
        ("backtick-only", "`touch MARKER`"),
        ("single quote", "x' . system('touch MARKER') . 'y"),
        ("double quote", "a\" . system(\"touch MARKER\") . \"b"),
        ("system call", "system(\"touch MARKER\")"),
        ("macro", "@touch @MARKER"),
        ("semicolon", "R18'; system('touch MARKER'); print '"),
        ("newline", "ResNet\nsystem('touch MARKER')"),
        ("carriage return", "ResNet\r!touch MARKER"),
        ("line separator", "ResNet\u{2028}!touch MARKER"),
        ("backslash", "back\\slash\\"),
        ("backslash quote", "\\' . system('touch MARKER') . '\\"),
        ("trailing backslash", "ResNet\\"),
        ("shell bang", "!touch MARKER"),
    ]

    /// What gnuplot should show for `label`: control characters become spaces.
    func shown(_ label: String) -> String {
        String(String.UnicodeScalarView(label.unicodeScalars.map {
            $0.value < 0x20 || $0.value == 0x2028 ? " " : $0
        }))
    }

    /// The single-quoted gnuplot literal of `s` (written independently of the report's code).
    func quoted(_ s: String) -> String { "'" + shown(s).replacingOccurrences(of: "'", with: "''") + "'" }

    func scenario(marker: String) -> (runs: [RunResult], infos: [ExperimentInfo]) {
        var runs = [RunResult](), infos = [ExperimentInfo]()
        for (i, (_, raw)) in Self.hostile.enumerated() {
            let label = raw.replacingOccurrences(of: "MARKER", with: marker)
            // Experiment names are hostile too (as if edited into the database).
            let name = "exp\(i)`touch \(marker)`"
            let figure = i % 2 == 0 ? 2 : 5
            infos.append(ExperimentInfo(name: name, label: label, figure: figure, synthetic: i == 0,
                                        paper: PaperNumbers(), reliability: i < 3))
            for v in Variant.allCases {
                runs.append(syntheticRun(experiment: name, variant: v, seed: 1, n: 60, classes: 10,
                                         compute: resnetCompute(params: 11_000_000 + i, gflops: 0.5)))
            }
        }
        return (runs, infos)
    }

    func testHostileLabelsRenderLiterallyAndRunNothing() throws {
        guard Gnuplot.executable() != nil else { throw XCTSkip("gnuplot not on PATH (reproduce.sh installs gnuplot-nox)") }
        let root = tempDir("hostile")
        defer { try? FileManager.default.removeItem(at: root) }
        let marker = root.appendingPathComponent("PWNED").path
        let sc = scenario(marker: marker)
        let plots = root.appendingPathComponent("plots"), tables = root.appendingPathComponent("tables")
        let summary = try ReportWriter.write(runs: sc.runs, experiments: sc.infos, expected: [],
                                             plotsDir: plots, tablesDir: tables, render: true)
        XCTAssertTrue(summary.rendered)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a label ran a command through gnuplot")
        XCTAssertFalse(FileManager.default.fileExists(atPath: plots.appendingPathComponent("PWNED").path))

        let scripts = try summary.written.filter { $0.pathExtension == "gp" }
            .map { try String(contentsOf: $0, encoding: .utf8) }
        XCTAssertEqual(scripts.count, 7)  // figures 2 and 5 (params, flops), three reliability diagrams
        let all = scripts.joined(separator: "\n")
        for (case_, raw) in Self.hostile {
            let label = raw.replacingOccurrences(of: "MARKER", with: marker)
            XCTAssertTrue(all.contains("title " + quoted(label + " + SideNet")), "\(case_): label not literal")
        }
        for (i, s) in scripts.enumerated() {
            // Scripts and data comments never break a label over lines: every line of a script
            // is one of ours (a command, a continuation of `plot`, or a comment).
            for line in s.split(separator: "\n", omittingEmptySubsequences: true) {
                let ok = line.hasPrefix("#") || line.hasPrefix("set ") || line.hasPrefix("plot ")
                    || line.hasPrefix("  ") || line == "replot" || line == "unset output"
                XCTAssertTrue(ok, "script \(i): a line gnuplot would read as a command: \(line)")
            }
        }
        // Tables keep each hostile label on its own row.
        let md = try String(contentsOf: tables.appendingPathComponent("table2.md"), encoding: .utf8)
        let rows = md.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| MainNet") && !$0.hasPrefix("| :---") }
        XCTAssertEqual(rows.count, Self.hostile.count, md)
        XCTAssertTrue(rows.allSatisfy { $0.hasSuffix(" |") }, md)
        // File names in scripts are ours, never from names or labels.
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: plots.path)).filter { $0.contains("`") }, [])
    }

    /// The same text edited into `experiments.spec_json` of a database (not through a spec file).
    func testHostileLabelEditedIntoTheDatabaseRunsNothing() throws {
        guard Gnuplot.executable() != nil else { throw XCTSkip("gnuplot not on PATH") }
        let f = try StoreFixture("hostile-db")
        defer { f.cleanup() }
        let marker = f.dir.appendingPathComponent("PWNED").path
        let spec = try StoreFixture.spec(name: "exp-h", label: "PLACEHOLDER", paperExtra: "  reliability: true")
        let label = "Res`touch \(marker)`Net\" . system(\"touch \(marker)\") . \"@x"
        // JSON-escape the label as an editor of the database would have to.
        let escaped = String(decoding: try JSONEncoder().encode(label), as: UTF8.self)
        let json = spec.canonicalJSON().replacingOccurrences(of: "\"PLACEHOLDER\"", with: escaped)
        XCTAssertNotEqual(json, spec.canonicalJSON())
        let id = try f.store.registerExperiment(name: "exp-h", specJSON: json, specHash: "edited")
        try f.finish(id, .sidenet, seed: 0, predictions: StoreReaderTests.handBuilt())
        let loaded = try StoreReader.load(f.store)
        XCTAssertEqual(loaded.experiments.map(\.label), [label])
        let plots = f.dir.appendingPathComponent("plots")
        let summary = try ReportWriter.write(runs: loaded.runs, experiments: loaded.experiments, expected: [],
                                             plotsDir: plots, tablesDir: f.dir.appendingPathComponent("tables"),
                                             render: true)
        XCTAssertTrue(summary.rendered)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a label from spec_json ran a command")
        let gp = try String(contentsOf: plots.appendingPathComponent("figure2_params.gp"), encoding: .utf8)
        XCTAssertTrue(gp.contains("title " + quoted(label + " + SideNet")), gp)
        let f3 = try String(contentsOf: plots.appendingPathComponent("figure3_reliability.gp"), encoding: .utf8)
        XCTAssertTrue(f3.contains(quoted("Figure 3. CIFAR-10 \(label): reliability, SideNet vs MainNet — synthetic stand-in data")), f3)
    }

    /// gnuplot itself reads each quoted label back as the label (control characters as spaces).
    func testGnuplotReadsQuotedLabelsBack() throws {
        guard let exe = Gnuplot.executable() else { throw XCTSkip("gnuplot not on PATH") }
        let root = tempDir("readback")
        defer { try? FileManager.default.removeItem(at: root) }
        let marker = root.appendingPathComponent("PWNED").path
        let sc = scenario(marker: marker)
        let report = try Report.build(runs: sc.runs, experiments: sc.infos, expected: [])
        let gp = report.figureFiles().files.filter { $0.name.hasSuffix(".gp") }.map(\.contents).joined()
        var script = "set print '-'\n"
        var want = [String]()
        for line in gp.split(separator: "\n") {
            guard let r = line.range(of: " title '") else { continue }
            // The literal runs to the first quote not doubled.
            var lit = "'", i = r.upperBound
            while i < line.endIndex {
                let c = line[i]
                lit.append(c)
                let next = line.index(after: i)
                if c == "'" {
                    if next < line.endIndex && line[next] == "'" { lit.append("'"); i = line.index(after: next); continue }
                    break
                }
                i = next
            }
            script += "print \(lit)\n"
            want.append(String(lit.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'"))
        }
        XCTAssertGreaterThanOrEqual(want.count, Self.hostile.count)
        let file = root.appendingPathComponent("print.gp")
        try Data(script.utf8).write(to: file)
        let p = Process()
        p.executableURL = exe
        p.arguments = [file.path]
        p.currentDirectoryURL = root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let printed = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for (i, w) in want.enumerated() { XCTAssertEqual(String(printed[i]), w) }
        for (_, raw) in Self.hostile {
            let label = shown(raw.replacingOccurrences(of: "MARKER", with: marker))
            XCTAssertTrue(printed.contains { $0 == label + " + SideNet" }, "gnuplot did not print \(label)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    /// Without quoting (the old double-quoted strings) the backtick case does run: the test
    /// setup can detect an injection.
    func testMarkerDetectsInjectionWithDoubleQuotes() throws {
        guard let exe = Gnuplot.executable() else { throw XCTSkip("gnuplot not on PATH") }
        let root = tempDir("control")
        defer { try? FileManager.default.removeItem(at: root) }
        let marker = root.appendingPathComponent("PWNED").path
        let file = root.appendingPathComponent("bad.gp")
        try Data("set title \"Res`touch \(marker)`Net\"\n".utf8).write(to: file)
        let p = Process()
        p.executableURL = exe
        p.arguments = [file.path]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker))
    }
}
