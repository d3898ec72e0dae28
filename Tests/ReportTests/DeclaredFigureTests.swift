import Foundation
import XCTest
import Report

/// Issue 9 item 4: figures are declared by the specs. Every `paper.figure: N` draws figure N
/// with the experiments that name it; Figure 3 draws the experiments that declare
/// `paper.reliability: true`, whatever their label.
final class DeclaredFigureTests: XCTestCase {
    func runs(_ name: String, params: Int) -> [RunResult] {
        Variant.allCases.flatMap { v in
            (1...2).map { s in
                syntheticRun(experiment: name, variant: v, seed: s, n: 80, classes: 10,
                             compute: resnetCompute(params: params, gflops: 0.5))
            }
        }
    }

    func testEveryDeclaredFigureIsDrawnWithItsExperiments() throws {
        let infos = [
            ExperimentInfo(name: "a", label: "ResNet50", figure: 2, synthetic: false, paper: PaperNumbers()),
            ExperimentInfo(name: "b", label: "VGG16", figure: 5, synthetic: false, paper: PaperNumbers(),
                           reliability: true),
            ExperimentInfo(name: "c", label: "VGG11", figure: 5, synthetic: false, paper: PaperNumbers()),
            ExperimentInfo(name: "d", label: "Other", figure: 7, synthetic: false, paper: PaperNumbers(),
                           reliability: true),
        ]
        let all = runs("a", params: 1_000_000) + runs("b", params: 2_000_000) + runs("c", params: 3_000_000)
            + runs("d", params: 4_000_000)
        let report = try Report.build(runs: all, experiments: infos, expected: [])
        XCTAssertEqual(report.declaredFigures, [2, 5, 7])
        let figs = report.figureFiles()
        XCTAssertEqual(figs.scripts, ["figure2_params.gp", "figure2_flops.gp", "figure5_params.gp", "figure5_flops.gp",
                                      "figure7_params.gp", "figure7_flops.gp",
                                      "figure3_reliability.gp", "figure3_reliability_2.gp"])
        func file(_ n: String) -> String { figs.files.first { $0.name == n }!.contents }
        let f5 = file("figure5_params.gp")
        XCTAssertTrue(f5.contains("'VGG16 + SideNet'"), f5)
        XCTAssertTrue(f5.contains("'VGG11, no SideNet'"), f5)
        XCTAssertFalse(f5.contains("ResNet50"), f5)
        XCTAssertTrue(file("figure5_sidenet.dat").contains("# VGG11 (c), 2 seeds"))
        // Figure 3: the declared experiments, not the one labelled ResNet50.
        XCTAssertTrue(file("figure3_reliability.gp").contains("VGG16: reliability"))
        XCTAssertTrue(file("figure3_reliability_2.gp").contains("Other: reliability"))
        XCTAssertFalse(figs.files.contains { $0.contents.contains("ResNet50: reliability") })
        XCTAssertEqual(figs.notes, [])
    }

    func testNoReliabilityDeclarationNoFigure3() throws {
        let infos = [ExperimentInfo(name: "a", label: "ResNet50", figure: 2, synthetic: false, paper: PaperNumbers())]
        let report = try Report.build(runs: runs("a", params: 1_000_000), experiments: infos, expected: [])
        let figs = report.figureFiles()
        XCTAssertEqual(figs.scripts, ["figure2_params.gp", "figure2_flops.gp"])
        XCTAssertEqual(figs.notes, ["Figure 3 not drawn: no experiment declares paper.reliability: true"])
        XCTAssertEqual(report.missing, [])
    }

    func testDeclaredReliabilityWithoutSideNetRunsIsMissing() throws {
        let infos = [ExperimentInfo(name: "a", label: "X", figure: 2, synthetic: false, paper: PaperNumbers(),
                                    reliability: true)]
        let base = runs("a", params: 1_000_000).filter { $0.variant == .baseline }
        let report = try Report.build(runs: base, experiments: infos, expected: [])
        XCTAssertTrue(report.missing.contains("Figure 3: no a SideNet runs (reliability diagram not drawn)"),
                      "\(report.missing)")
        XCTAssertFalse(report.figureFiles().scripts.contains { $0.hasPrefix("figure3") })
    }
}
