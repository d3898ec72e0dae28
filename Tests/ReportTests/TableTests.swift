import Foundation
import XCTest
import Report

final class TableTests: XCTestCase {
    /// 4 examples, 10 classes; side confidence 0.85, main confidence 0.95;
    /// the first `sideRight` / `mainRight` examples are answered correctly.
    func fixedRun(_ exp: String, _ variant: Variant, seed: Int, sideRight: Int, mainRight: Int) -> RunResult {
        let preds = (0..<4).map { i -> Prediction in
            let side = variant == .sidenet
            return Prediction(label: 3, sidePred: side ? (i < sideRight ? 3 : 4) : nil,
                              sideConf: side ? 0.85 : nil, mainPred: i < mainRight ? 3 : 5, mainConf: 0.95,
                              sideLogits: nil, mainLogits: [])
        }
        return RunResult(experiment: exp, variant: variant, seed: seed, numClasses: 10,
                         compute: resnetCompute(params: 11_181_642, gflops: 0.56), predictions: preds)
    }

    func scenario() throws -> Report {
        let infos = [
            resnetInfo("resnet18", "ResNet18", synthetic: true,
                       side: MeanStd(mean: 92.3, std: 0.1), base: MeanStd(mean: 92.1, std: 0.1),
                       sideECE: MeanStd(mean: 0.31, std: 0.08), mainECE: MeanStd(mean: 1.0, std: 0.05)),
            resnetInfo("resnet50", "ResNet50", synthetic: true,
                       side: MeanStd(mean: 94.0, std: 0.2), base: MeanStd(mean: 93.6, std: 0.3)),
        ]
        let runs = [
            fixedRun("resnet18", .sidenet, seed: 1, sideRight: 3, mainRight: 3),
            fixedRun("resnet18", .sidenet, seed: 2, sideRight: 4, mainRight: 4),
            fixedRun("resnet18", .baseline, seed: 1, sideRight: 0, mainRight: 2),
            fixedRun("resnet18", .baseline, seed: 2, sideRight: 0, mainRight: 2),
            fixedRun("resnet50", .sidenet, seed: 1, sideRight: 4, mainRight: 4),
        ]
        return try Report.build(runs: runs, experiments: infos,
                                expected: [("resnet18", .sidenet), ("distilbert", .sidenet)])
    }

    func testMissingRunsListed() throws {
        let r = try scenario()
        XCTAssertEqual(r.missing, ["distilbert (sidenet)", "resnet50 (baseline)"])
        let md = r.table2().markdown()
        XCTAssertTrue(md.contains("- distilbert (sidenet)"), md)
        XCTAssertTrue(md.contains("- resnet50 (baseline)"), md)
        XCTAssertTrue(md.contains("| missing |"), md)
        XCTAssertTrue(r.table2().latex().contains("Missing runs: distilbert (sidenet); resnet50 (baseline)."))
    }

    func testTable2Markdown() throws {
        let t = try scenario().table2()
        let md = t.markdown()
        // Paper numbers beside ours.
        XCTAssertTrue(md.contains("92.30 ± 0.10"), md)
        XCTAssertTrue(md.contains("92.10 ± 0.10"), md)
        XCTAssertTrue(md.contains("93.60 ± 0.30"), md)
        // Ours: with SideNet 75 % and 100 % -> 87.50 ± 17.68 (sample std 25/sqrt 2);
        // baseline 50 % twice -> 50.00 ± 0.00; ResNet50 one seed -> 100.00 ± 0.00.
        XCTAssertTrue(md.contains("| ResNet18 | CIFAR-10 | 87.50 ± 17.68 | 92.30 ± 0.10 | 50.00 ± 0.00 | 92.10 ± 0.10 | 2 / 2 |"), md)
        XCTAssertTrue(md.contains("| ResNet50 | CIFAR-10 | 100.00 ± 0.00 | 94.00 ± 0.20 | missing | 93.60 ± 0.30 | 1 / 0 |"), md)
        XCTAssertTrue(md.contains("synthetic stand-in data"), md)
        let tex = t.latex()
        XCTAssertTrue(tex.contains("$87.50 \\pm 17.68$"), tex)
        XCTAssertTrue(tex.contains("synthetic stand-in data"), tex)
        XCTAssertTrue(tex.contains("\\begin{tabular}{lrrrrrr}"), tex)
        XCTAssertTrue(tex.contains("\\caption{MainNet test accuracy with and without a SideNet. "), tex)
        XCTAssertFalse(tex.contains("−"), tex) // unicode minus must be escaped for pdflatex
    }

    func testTable1MarkdownAndCSV() throws {
        let t = try scenario().table1()
        let md = t.markdown()
        // SideNet ECE: |0.75 - 0.85| = 10 %, |1 - 0.85| = 15 % -> 12.50 ± 3.54.
        // MainNet ECE: |0.75 - 0.95| = 20 %, |1 - 0.95| = 5 % -> 12.50 ± 10.61.
        // Columns: ECE (%), paper, gap sum (fraction) for the SideNet, then the same for the MainNet.
        XCTAssertTrue(md.contains("| ResNet18 | 12.50 ± 3.54 | 0.31 ± 0.08 | "), md)
        XCTAssertTrue(md.contains(" | 12.50 ± 10.61 | 1.00 ± 0.05 | "), md)
        XCTAssertTrue(md.contains("| ResNet50 | 15.00 ± 0.00 | — | 0.15 ± 0.00 | 5.00 ± 0.00 | — | 0.05 ± 0.00 |"), md)
        XCTAssertTrue(md.contains("synthetic stand-in data"), md)

        let rows = parseCSV(t.csv())
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(rows.allSatisfy { $0.count == rows[0].count }, "\(rows)")
        let h = rows[0]
        let r18 = rows[1]
        func v(_ col: String) -> Double? { Double(r18[h.firstIndex(of: col)!]) }
        XCTAssertEqual(r18[0], "ResNet18")
        XCTAssertEqual(v("sidenet_ece_pct_mean")!, 12.5, accuracy: 1e-4)
        XCTAssertEqual(v("sidenet_ece_pct_std")!, 5 / 2.0.squareRoot(), accuracy: 1e-4)
        XCTAssertEqual(v("mainnet_ece_pct_std")!, 15 / 2.0.squareRoot(), accuracy: 1e-4)
        XCTAssertEqual(v("paper_sidenet_ece_pct_mean"), 0.31)
        XCTAssertEqual(v("paper_mainnet_ece_pct_std"), 0.05)
        XCTAssertEqual(v("sidenet_below_0_2"), 0)
    }

    func testTable2CSVParsesBack() throws {
        let rows = parseCSV(try scenario().table2().csv())
        XCTAssertEqual(rows.count, 3)
        let h = rows[0]
        XCTAssertEqual(h.first, "model")
        let col = { (name: String) -> Int in h.firstIndex(of: name)! }
        XCTAssertEqual(Double(rows[1][col("with_sidenet_acc_pct_mean")]), 87.5)
        XCTAssertEqual(Double(rows[1][col("with_sidenet_acc_pct_std")])!, 25 / 2.0.squareRoot(), accuracy: 1e-4)
        XCTAssertEqual(Double(rows[1][col("paper_no_sidenet_acc_pct_mean")]), 92.1)
        XCTAssertEqual(rows[2][col("no_sidenet_acc_pct_mean")], "") // missing baseline
        XCTAssertEqual(rows[2][col("seeds_baseline")], "0")
    }

    func testCSVQuotingRoundTrip() {
        let fields = ["a,b", "say \"hi\"", "plain", ""]
        XCTAssertEqual(parseCSV(csvLine(fields) + csvLine(["x", "y", "z", "w"])), [fields, ["x", "y", "z", "w"]])
    }

    func testSweepCSV() throws {
        let r = try scenario()
        let rows = parseCSV(r.sweepCSV(r.experiments[0]))
        // header + 101 thetas + baseline row
        XCTAssertEqual(rows.count, 103)
        let h = rows[0]
        let theta = h.firstIndex(of: "theta")!, params = h.firstIndex(of: "params_per_input_mean")!
        // theta 0.85 equals every side confidence: all exit -> prefix + SideNet.
        let row85 = rows.first { $0[theta] == "0.85" }!
        XCTAssertEqual(Double(row85[params]), 157_504 + 524_714)
        let row86 = rows.first { $0[theta] == "0.86" }!
        XCTAssertEqual(Double(row86[params]), 11_181_642 + 524_714)
        XCTAssertEqual(rows.last![0], "baseline")
        XCTAssertEqual(Double(rows.last![params]), 11_181_642)
    }
}
