import Foundation
import XCTest

/// `sidenet run` writes what the report needs into the store (experiment_info): a figure number
/// the spec declares draws that figure, `evaluation.ece` sets the bins, and editing the spec's
/// unhashed `paper:` / `evaluation:` then running again (finished runs are skipped) updates the
/// report without retraining.
final class ReportDeclaredCLITests: XCTestCase {
    func spec(label: String, bins: Int) -> String {
        TinyResNetSpec(name: "declared", description: "declared figure on generated data", dataPath: "data/cifar",
                       validation: 100, limit: (train: 300, test: 200), batchSize: 50, evaluationBatch: nil,
                       paper: "  figure: 5\n  label: \(label)").yaml
            + "evaluation: {ece: {bins: \(bins), low: 0, high: 1}}\n"
    }

    func testDeclaredFigureAndECEBinsAndTheirUpdate() throws {
        try SidenetBinary.requireBuilt()
        let s = CLIScratch("report-declared")
        defer { s.cleanup() }
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "data/cifar", "--train", "500", "--test", "200"],
                                   cwd: s.dir))
        func runAndReport(label: String, bins: Int) throws -> (gp: String, calibration: String) {
            try s.write("declared.yaml", spec(label: label, bins: bins))
            assertSucceeds(try sidenet(["run", "declared.yaml", "--db", "db.sqlite", "--threads", "1"], cwd: s.dir))
            assertSucceeds(try sidenet(["report", "--db", "db.sqlite", "--out", "plots", "--tables", "results", "--no-render",
                                        "declared.yaml"], cwd: s.dir))
            XCTAssertFalse(s.exists("plots/figure2_params.gp"), "figure 2 is not declared")
            return (try String(contentsOfFile: s.path("plots/figure5_params.gp"), encoding: .utf8),
                    try String(contentsOfFile: s.path("results/calibration_declared.csv"), encoding: .utf8))
        }
        func binRows(_ csv: String, _ scheme: String) -> Int {
            csv.split(separator: "\n").filter { $0.hasPrefix("sidenet,\(scheme),mean,") && !$0.contains(",all,") }.count
        }
        let first = try runAndReport(label: "First", bins: 10)
        XCTAssertTrue(first.gp.contains("'First + SideNet'"), first.gp)
        XCTAssertEqual(binRows(first.calibration, "paper10_0-1"), 10, first.calibration)
        XCTAssertEqual(binRows(first.calibration, "paper8"), 0)

        let second = try runAndReport(label: "Second", bins: 4)
        XCTAssertTrue(second.gp.contains("'Second + SideNet'"), second.gp)
        XCTAssertEqual(binRows(second.calibration, "paper4_0-1"), 4, second.calibration)
        let list = assertSucceeds(try sidenet(["list", "--db", "db.sqlite"], cwd: s.dir))
        XCTAssertEqual(list.split(separator: "\n").filter { $0.contains("finished") }.count, 2, "no run was repeated: \(list)")
    }
}
