import Foundation
import XCTest
import Runner
import Specs
import Store

/// What the runner records for the report when it registers a spec (`experiment_info`).
final class ReportInfoTests: XCTestCase {
    func testSpecWithoutPaperSectionGetsNameDatasetAndDefaultFigure() throws {
        let bert = try TinySpecs.bert(name: "tiny-bert").reportInfo
        XCTAssertEqual(bert, ExperimentInfoRow(label: "tiny-bert", dataset: "SST-2", figure: 4, reliability: false,
                                               synthetic: true, eceBins: 8, eceLow: 0.2, eceHigh: 1.0))
        let resnet = try TinySpecs.resnet(name: "tiny-resnet").reportInfo
        XCTAssertEqual(resnet.dataset, "CIFAR-10")
        XCTAssertEqual(resnet.figure, 2)
    }

    func testPaperSectionAndECEReachTheRow() throws {
        var spec = try TinySpecs.resnet(name: "r")
        spec.paper = PaperSpec(figure: 7, label: "VGG16",
                               table2: Table2Spec(sidenet: MeanStd(mean: 94, std: 0.2), baseline: MeanStd(mean: 93.6, std: 0.3)),
                               table1: Table1Spec(sidenetECE: MeanStd(mean: 0.41, std: 0.1), mainnetECE: MeanStd(mean: 0.91, std: 0.17)),
                               reliability: true)
        spec.data.synthetic = false
        spec.evaluation.ece = ECESpec(bins: 10, low: 0.1, high: 0.9)
        XCTAssertEqual(spec.reportInfo, ExperimentInfoRow(
            label: "VGG16", dataset: "CIFAR-10", figure: 7, reliability: true, synthetic: false,
            eceBins: 10, eceLow: 0.1, eceHigh: 0.9, paperTable2Sidenet: (94, 0.2), paperTable2Baseline: (93.6, 0.3),
            paperTable1SidenetECE: (0.41, 0.1), paperTable1MainnetECE: (0.91, 0.17)))
    }
}
