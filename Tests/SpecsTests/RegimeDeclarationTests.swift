import XCTest
import Specs

/// The regime table says what the README and the paper say about each regime, every row is
/// executable by the runner (`problems` empty), and `problems` catches rows it could not run.
final class RegimeDeclarationTests: XCTestCase {
    func testEveryRegimeHasAnExecutableDeclaration() {
        for r in Regime.allCases {
            XCTAssertEqual(r.declaration.regime, r)
            XCTAssertEqual(r.declaration.problems, [], "\(r.rawValue)")
        }
    }

    func testTheThreeRegimesAsTheReadmeDescribesThem() {
        let full = Regime.full.declaration, heads = Regime.heads.declaration, side = Regime.sidenet.declaration
        XCTAssertEqual(NetPart.allCases.map(full.training(of:)), [.trained, .trained, .trained])
        XCTAssertFalse(full.cachesFeatures)
        XCTAssertEqual(full.checkpointParts(withSide: false), [.backbone, .mainHead, .sideNet])

        XCTAssertEqual(heads.backbone, .frozen(batchNorm: .eval))
        XCTAssertEqual([heads.mainHead, heads.sideNet], [.trained, .trained])
        XCTAssertTrue(heads.cachesFeatures)
        XCTAssertFalse(heads.needsLoadedHead)
        XCTAssertEqual(heads.checkpointParts(withSide: true), [.mainHead, .sideNet])
        XCTAssertEqual(heads.checkpointParts(withSide: false), [.mainHead])

        XCTAssertEqual([side.backbone, side.mainHead], [.frozen(batchNorm: .eval), .frozen(batchNorm: .eval)])
        XCTAssertEqual(side.sideNet, .trained)
        XCTAssertTrue(side.cachesFeatures)
        XCTAssertTrue(side.needsLoadedHead)
        XCTAssertFalse(side.trainsMainNet)
    }

    func testProblemsNameWhatTheRunnerCannotExecute() {
        var d = Regime.full.declaration
        d.checkpoint = .heads
        XCTAssertEqual(d.problems, ["the backbone trains, so the checkpoint must hold it (contents full)"])
        d = Regime.full.declaration
        d.mainHead = .frozen(batchNorm: .eval)
        XCTAssertEqual(d.problems.count, 1)
        XCTAssertTrue(d.problems[0].contains("MainNet head"), d.problems[0])
        d = Regime.full.declaration
        d.backbone = .frozen(batchNorm: .train)  // not cacheable: the whole network runs per step
        XCTAssertFalse(d.cachesFeatures)
        XCTAssertEqual(d.problems, [])
        d = Regime.sidenet.declaration
        d.sideNet = .frozen(batchNorm: .eval)
        XCTAssertEqual(d.problems, ["nothing trains"])
    }

    /// The baseline variant is refused exactly where the declaration trains only the SideNet.
    func testBaselineRefusedWhereOnlyTheSideNetTrains() throws {
        for r in Regime.allCases {
            let yaml = """
            name: r
            seeds: [0]
            variants: [sidenet, baseline]
            data: {dataset: cifar10, path: data/cifar, synthetic: true, validation: 20}
            mainnet: {arch: resnet18, weights: null}
            sidenet: {attach: layer1}
            training: {regime: \(r.rawValue), optimizer: {lr: 0.001}, epochs: 1, batch_size: 4}
            """
            let parse = { try ExperimentSpec.parse(yaml: yaml, file: "r.yaml").validate() }
            if r.declaration.trainsMainNet {
                XCTAssertNoThrow(try parse(), r.rawValue)
            } else {
                XCTAssertThrowsError(try parse(), r.rawValue) {
                    XCTAssertTrue("\($0)".contains("trains only the SideNet"), "\($0)")
                }
            }
        }
    }
}
