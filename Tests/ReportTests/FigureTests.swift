import Foundation
import XCTest
import Report

final class FigureTests: XCTestCase {
    func scenario(seeds: Int = 3, n: Int = 400) -> (runs: [RunResult], infos: [ExperimentInfo]) {
        let resnets: [(String, String, Int, Double, Double)] = [
            ("resnet18", "ResNet18", 11_181_642, 0.56, 0.00), ("resnet34", "ResNet34", 21_289_802, 1.16, 0.02),
            ("resnet50", "ResNet50", 23_528_522, 1.31, 0.03), ("resnet152", "ResNet152", 58_164_298, 3.7, 0.05),
        ]
        var runs = [RunResult](), infos = [ExperimentInfo]()
        for (name, label, params, gf, skill) in resnets {
            var info = resnetInfo(name, label, synthetic: true)
            info.reliability = name == "resnet50"  // the paper's Figure 3 declares ResNet50
            infos.append(info)
            for s in 1...seeds {
                for v in Variant.allCases {
                    runs.append(syntheticRun(experiment: name, variant: v, seed: s, n: n, classes: 10,
                                             compute: resnetCompute(params: params, gflops: gf),
                                             mainSkill: skill))
                }
            }
        }
        let bert: [(String, String, Int, Int, Double)] = [
            ("distilbert", "DistilBERT", 66_362_880, 7_087_872, 0.0), ("bert_base", "BERT-base", 109_482_240, 28_351_488, 0.02),
        ]
        for (name, label, params, prefix, skill) in bert {
            infos.append(ExperimentInfo(name: name, label: label, figure: 4, synthetic: false, paper: PaperNumbers()))
            let c = Compute(paramsPrefix: prefix, paramsSideNet: 24_673, paramsMainNet: params,
                            flopsPrefix: prefix * 128, flopsSideNet: 24_673 * 2, flopsMainNet: params * 128)
            for s in 1...seeds {
                for v in Variant.allCases {
                    runs.append(syntheticRun(experiment: name, variant: v, seed: s, n: n, classes: 2,
                                             compute: c, mainSkill: skill))
                }
            }
        }
        return (runs, infos)
    }

    func testScriptContents() throws {
        let sc = scenario(seeds: 2, n: 50)
        let report = try Report.build(runs: sc.runs, experiments: sc.infos, expected: [])
        XCTAssertEqual(report.missing, [])
        let figs = report.figureFiles()
        XCTAssertEqual(figs.scripts, ["figure2_params.gp", "figure2_flops.gp", "figure4_params.gp",
                                      "figure4_flops.gp", "figure3_reliability.gp"])
        func file(_ n: String) -> String { figs.files.first { $0.name == n }!.contents }
        let f2 = file("figure2_params.gp")
        XCTAssertTrue(f2.contains("set xlabel 'Average parameters per input (millions)'"), f2)
        XCTAssertTrue(f2.contains("set ylabel 'Test accuracy (%)'"), f2)
        XCTAssertTrue(f2.contains("set terminal pngcairo size 1000,700 font \",11\""), f2)
        XCTAssertTrue(f2.contains("pdfcairo"), f2)
        XCTAssertTrue(f2.contains("CIFAR-10"), f2)
        XCTAssertTrue(f2.contains("— synthetic stand-in data"), f2)
        XCTAssertTrue(f2.contains("with yerrorbars"), f2)
        XCTAssertTrue(f2.contains("set title 'Figure 2. CIFAR-10: test accuracy vs average parameters per input — synthetic stand-in data'.\"\\n\".'MainNets with SideNets"), f2)
        XCTAssertTrue(f2.contains("'ResNet152 + SideNet'"), f2)
        XCTAssertTrue(f2.contains("'ResNet152, no SideNet'"), f2)
        XCTAssertTrue(file("figure2_flops.gp").contains("set xlabel 'Average FLOPs per input (GFLOPs)'"))
        let f4 = file("figure4_params.gp")
        XCTAssertTrue(f4.contains("SST-2"), f4)
        XCTAssertFalse(f4.contains("synthetic"), f4)
        let f3 = file("figure3_reliability.gp")
        XCTAssertTrue(f3.contains("ResNet50"), f3)
        XCTAssertTrue(f3.contains("set xlabel 'Confidence (%)'"), f3)
        XCTAssertTrue(f3.contains("8 equal bins on [0.2, 1]"), f3)
        XCTAssertTrue(f3.contains("set xrange [20:100]"), f3)
        XCTAssertTrue(f3.contains("perfect calibration"), f3)
        XCTAssertTrue(f3.contains("synthetic stand-in data"), f3)

        // Data: index 0 of figure2_sidenet.dat is ResNet18, 101 rows, params in millions.
        let dat = file("figure2_sidenet.dat")
        let blocks = dat.components(separatedBy: "\n\n\n")
        XCTAssertEqual(blocks.count, 4)
        let rows = blocks[0].split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(rows.count, 101)
        let last = rows.last!.split(separator: " ").map { Double($0)! }
        XCTAssertEqual(last[0], 1.0)
        let e18 = report.experiments[0].sweep.last!
        XCTAssertEqual(last[1], e18.paramsPerInput.mean / 1e6, accuracy: 1e-6)
        XCTAssertEqual(last[5], e18.accuracy.mean, accuracy: 1e-5)
        let rel = file("figure3_reliability.dat").split(separator: "\n").filter { !$0.hasPrefix("#") }
        XCTAssertEqual(rel.count, 8)
    }

    func testGnuplotRender() throws {
        guard Gnuplot.executable() != nil else { throw XCTSkip("gnuplot not on PATH") }
        let sc = scenario()
        let root = tempDir("render")
        defer { try? FileManager.default.removeItem(at: root) }
        let plots = root.appendingPathComponent("plots"), tables = root.appendingPathComponent("tables")
        let summary = try ReportWriter.write(runs: sc.runs, experiments: sc.infos,
                                             expected: [("resnet18", .sidenet)],
                                             plotsDir: plots, tablesDir: tables, render: true)
        XCTAssertTrue(summary.rendered)
        XCTAssertEqual(summary.missing, [])
        XCTAssertEqual(summary.gnuplotWarnings, [])
        for base in ["figure2_params", "figure2_flops", "figure4_params", "figure4_flops", "figure3_reliability"] {
            let png = try Data(contentsOf: plots.appendingPathComponent("\(base).png"))
            XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], base)
            XCTAssertGreaterThan(png.count, 20_000, "\(base).png is only \(png.count) bytes")
            let pdf = try Data(contentsOf: plots.appendingPathComponent("\(base).pdf"))
            XCTAssertEqual(String(decoding: pdf.prefix(5), as: UTF8.self), "%PDF-", base)
            XCTAssertGreaterThan(pdf.count, 5_000, "\(base).pdf is only \(pdf.count) bytes")
        }
        for name in ["table1.md", "table1.tex", "table1.csv", "table2.md", "table2.tex", "table2.csv",
                     "sweeps_resnet50.csv", "sweeps_resnet50_per_seed.csv", "calibration_bert_base.csv"] {
            XCTAssertTrue(summary.written.contains(tables.appendingPathComponent(name)), name)
        }
        if let keep = ProcessInfo.processInfo.environment["SIDENET_REPORT_KEEP"] {
            let dest = URL(fileURLWithPath: keep)
            try? FileManager.default.removeItem(at: dest)
            try FileManager.default.copyItem(at: root, to: dest)
        }
    }

    func testGnuplotErrorNamesScript() throws {
        guard Gnuplot.executable() != nil else { throw XCTSkip("gnuplot not on PATH") }
        let dir = tempDir("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("plot 'nonexistent.dat' using 1:2\n".utf8).write(to: dir.appendingPathComponent("bad.gp"))
        var warnings = [String]()
        XCTAssertThrowsError(try Gnuplot.render(scripts: ["bad.gp"], in: dir, warnings: &warnings)) { e in
            guard case let .gnuplotFailed(script, _, _)? = e as? ReportError else {
                return XCTFail("unexpected error \(e)")
            }
            XCTAssertEqual(script, "bad.gp")
            XCTAssertTrue("\(e)".contains("bad.gp"))
        }
    }
}
