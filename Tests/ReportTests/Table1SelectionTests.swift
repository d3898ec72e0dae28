import XCTest
import Report

/// Which experiments Table 1 holds, as the stored records declare it: every experiment of a
/// figure that holds one with the paper's Table 1 numbers, whatever the figure's number; with
/// no Table 1 numbers anywhere, every experiment. The title names the stored datasets.
final class Table1SelectionTests: XCTestCase {
    private func run(_ exp: String) -> RunResult {
        syntheticRun(experiment: exp, variant: .sidenet, seed: 0, n: 40, classes: 10,
                     compute: resnetCompute(params: 11_181_642, gflops: 0.56))
    }

    private func info(_ name: String, figure: Int, table1: Bool, dataset: String) -> ExperimentInfo {
        ExperimentInfo(name: name, label: name.uppercased(), figure: figure, synthetic: false,
                       paper: PaperNumbers(table1SideNetECE: table1 ? MeanStd(mean: 0.3, std: 0.1) : nil,
                                           table1MainNetECE: table1 ? MeanStd(mean: 1.0, std: 0.1) : nil),
                       dataset: dataset)
    }

    func testRowsAreTheFiguresHoldingTable1Numbers() throws {
        // Figure 7 holds the experiment with Table 1 numbers (and one without); figure 2 none.
        let infos = [info("a", figure: 7, table1: true, dataset: "Odd-10"),
                     info("b", figure: 7, table1: false, dataset: "Odd-10"),
                     info("c", figure: 2, table1: false, dataset: "CIFAR-10")]
        let report = try Report.build(runs: ["a", "b", "c"].map(run), experiments: infos, expected: [])
        XCTAssertEqual(report.table1Experiments.map(\.info.name), ["a", "b"])
        let t = report.table1()
        XCTAssertEqual(t.title, "Table 1: ECE of SideNets and MainNets (Odd-10 test set)")
        XCTAssertEqual(parseCSV(t.csv()).dropFirst().map { $0[1] }, ["a", "b"])
    }

    func testWithoutTable1NumbersEveryExperimentIsARow() throws {
        let infos = [info("x", figure: 2, table1: false, dataset: "CIFAR-10"),
                     info("y", figure: 4, table1: false, dataset: "SST-2")]
        let report = try Report.build(runs: ["x", "y"].map(run), experiments: infos, expected: [])
        XCTAssertEqual(report.table1Experiments.map(\.info.name), ["x", "y"])
        XCTAssertEqual(report.table1().title, "Table 1: ECE of SideNets and MainNets (CIFAR-10 / SST-2 test set)")
    }
}
