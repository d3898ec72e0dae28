import Foundation
import XCTest

/// `sidenet report` end to end: a real tiny run, then the report, with a spec whose label tries
/// to run a shell command through gnuplot (issue 9 item 1).
final class ReportCLITests: XCTestCase {
    func spec(name: String, label: String) -> String {
        TinyResNetSpec(name: name, description: "report CLI test on generated data", dataPath: "data/cifar",
                       validation: 100, limit: (train: 300, test: 200), batchSize: 50, evaluationBatch: nil,
                       paper: """
                         figure: 2
                         label: '\(label.replacingOccurrences(of: "'", with: "''"))'
                         reliability: true
                       """).yaml
    }

    func testReportWithHostileLabelRunsNothingAndShowsTheLabel() throws {
        try SidenetBinary.requireBuilt()
        let s = CLIScratch("report")
        defer { s.cleanup() }
        let marker = s.path("PWNED")
        let label = "Res`touch \(marker)`Net'; system(\"touch \(marker)\") @x \\"
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "data/cifar", "--train", "500", "--test", "200"],
                                   cwd: s.dir))
        try s.write("hostile.yaml", spec(name: "hostile", label: label))
        assertSucceeds(try sidenet(["run", "hostile.yaml", "--db", "db.sqlite", "--threads", "1"], cwd: s.dir))
        let out = assertSucceeds(try sidenet(["report", "--db", "db.sqlite", "--out", "plots", "--tables", "results",
                                              "hostile.yaml"], cwd: s.dir))
        XCTAssertTrue(out.contains("2 finished runs of 1 experiments"), out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the label ran a command")
        let gp = try String(contentsOfFile: s.path("plots/figure2_params.gp"), encoding: .utf8)
        let quoted = "'" + label.replacingOccurrences(of: "'", with: "''") + " + SideNet'"
        XCTAssertTrue(gp.contains("title " + quoted), gp)
        let f3 = try String(contentsOfFile: s.path("plots/figure3_reliability.gp"), encoding: .utf8)
        XCTAssertTrue(f3.contains("unweighted bin gap sum"), f3)
        let table1 = try String(contentsOfFile: s.path("results/table1.csv"), encoding: .utf8)
        XCTAssertTrue(table1.hasPrefix("model,experiment,seeds,"), table1)
        XCTAssertTrue(table1.contains("sidenet_bin_gap_sum_mean"), table1)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/gnuplot") {
            XCTAssertTrue(s.exists("plots/figure2_params.png"))
            XCTAssertTrue(s.exists("plots/figure3_reliability.pdf"))
        }

        // Issue 16 item 4: the sweep at θ = 0 and θ = 1 equals the SideNet-only and MainNet-only
        // test accuracies the runner stored (as `sidenet list` prints them, two decimals).
        let list = assertSucceeds(try sidenet(["list", "--db", "db.sqlite"], cwd: s.dir))
        let row = try XCTUnwrap(list.split(separator: "\n").first { $0.contains(" sidenet ") && $0.contains("finished") },
                                list)
        let cols = row.split(separator: " ").map(String.init)
        let side = try XCTUnwrap(cols.last), main = cols[cols.count - 2]
        let sweep = try String(contentsOfFile: s.path("results/sweeps_hostile.csv"), encoding: .utf8)
        let lines = sweep.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let acc = try XCTUnwrap(lines[0].firstIndex(of: "accuracy_pct_mean"))
        let theta0 = try XCTUnwrap(lines.first { $0[0] == "sidenet" && $0[1] == "0.0" })
        let theta1 = try XCTUnwrap(lines.first { $0[0] == "sidenet" && $0[1] == "1.0" })
        XCTAssertEqual(String(format: "%.2f", Double(theta0[acc])!), side, "θ = 0 vs stored SideNet accuracy")
        XCTAssertEqual(String(format: "%.2f", Double(theta1[acc])!), main, "θ = 1 vs stored MainNet accuracy")

        // Failure path: an output folder that cannot be created is named in one line.
        try s.write("blocker", "a file, not a folder")
        let r = try sidenet(["report", "--db", "db.sqlite", "--out", "blocker/plots", "--no-render"], cwd: s.dir)
        assertFails(r, containing: "--out")
        XCTAssertTrue(r.stderr.contains("blocker/plots"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }
}
