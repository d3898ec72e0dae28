import Foundation
import Layers
import Models
import Tensors
import XCTest

/// Early exit against running the whole model on each example alone: DistilBERT (the
/// transformers-parity fixture), every SideNet of a two-SideNet BERT `SideNetModel`, and
/// SideNet 1 of a two-SideNet ResNet. Thetas: 0 (all exit), between two confidences (a mix),
/// above 1 (none exit).
final class MultiExitTests: XCTestCase {
    private let seqs: [[Int]] = [[2, 5, 9, 14, 33, 7, 8], [2, 40, 41], [2, 17, 3, 99, 12], [2, 60], [2, 8, 8, 8, 21, 22], [2, 70, 3]]

    /// Thetas that make everyone, some, and nobody exit, given the SideNet's confidences.
    private func thetas(_ confidences: [Float]) -> [Float] {
        let c = confidences.sorted()
        return [0, (c[c.count / 2 - 1] + c[c.count / 2]) / 2, 1.1]
    }

    /// Checks early-exit results of a text model against per-example runs: the SideNet logit of the
    /// example alone (`sideAlone`) and, for continuing examples, the whole MainNet (`mainAlone`).
    private func checkText(_ tag: String, stages: EarlyExitStages<MainNetActivation, MainNetActivation>,
                           sideAlone: (MainNetActivation) throws -> Tensor, mainAlone: (MainNetActivation) throws -> Tensor,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        func tokens(_ s: [[Int]]) throws -> MainNetActivation { MainNetActivation(tokens: try TokenBatch(padding: s)) }
        let batch = try tokens(seqs)
        let allConf = try seqs.map { ClassPrediction.rows(try sideAlone(tokens([$0])))[0].confidence }
        for theta in thetas(allConf) {
            let restRows = RestLog()
            let results = try earlyExit(countingRest(stages, into: restRows), input: batch, theta: theta)
            XCTAssertEqual(results.count, seqs.count, file: file, line: line)
            var continuing = 0
            for (i, s) in seqs.enumerated() {
                let alone = try tokens([s])
                let t = "\(tag) theta \(theta) example \(i)"
                let side = try sideAlone(alone)
                XCTAssertLessThan(abs(side.data[0] - results[i].sideLogits[0]), 1e-5, "\(t): SideNet logit", file: file, line: line)
                XCTAssertEqual(results[i].sideConfidence, allConf[i], accuracy: 1e-6, t, file: file, line: line)
                if allConf[i] >= theta {
                    XCTAssertEqual(results[i].exit, .side, t, file: file, line: line)
                    XCTAssertNil(results[i].mainLogits, t, file: file, line: line)
                } else {
                    continuing += 1
                    XCTAssertEqual(results[i].exit, .main, t, file: file, line: line)
                    let full = try mainAlone(alone)
                    let ml = try XCTUnwrap(results[i].mainLogits, t, file: file, line: line)
                    XCTAssertLessThan(abs(full.data[0] - ml[0]), 1e-5, "\(t): MainNet logit \(ml[0]) vs alone \(full.data[0])",
                                      file: file, line: line)
                    XCTAssertEqual(results[i].predicted, ClassPrediction(logits: full.data).predicted, t, file: file, line: line)
                }
            }
            XCTAssertEqual(restRows.rows, continuing == 0 ? [] : [continuing], "\(tag) theta \(theta): remainder runs once on the rest",
                           file: file, line: line)
            if theta == 0 { XCTAssertEqual(continuing, 0, file: file, line: line) }
            if theta > 1 { XCTAssertEqual(continuing, seqs.count, file: file, line: line) }
            if theta > 0 && theta < 1 {
                XCTAssertTrue(continuing > 0 && continuing < seqs.count, "\(tag): a mix at theta \(theta)", file: file, line: line)
            }
        }
    }

    func testDistilBertEarlyExitEqualsPerExampleFullModel() throws {
        let layers = 2
        for n in 0..<layers {
            let m = try fixtureTextModel("distilbert", attach: ["transformer.layer.\(n)"])
            XCTAssertEqual(m.backbone.unitCount, layers + 1, "the fixture has \(layers) blocks")
            var rng = SeededGenerator(seed: 11)
            m.head.bn.runningMean.value = Tensor.normal([m.head.bn.runningMean.value.count], std: 0.1, rng: &rng)
            m.sideNets[0].bn.runningMean.value = Tensor.normal([m.sideNets[0].bn.runningMean.value.count], std: 0.5, rng: &rng)
            try checkText("DistilBERT transformer.layer.\(n)", stages: m.earlyExitStages(),
                          sideAlone: { b in try m.forwardAll(b, mode: .eval).side[0] },
                          mainAlone: { b in try m.forwardMain(b, mode: .eval) })
        }
    }

    func testTextModelStagesOfEverySideNet() throws {
        let m = try fixtureTextModel("bert", attach: ["encoder.layer.1", "encoder.layer.0"], hidden: 6, seed: 5)
        var rng = SeededGenerator(seed: 12)
        for s in m.sideNets { s.bn.runningMean.value = Tensor.normal([s.bn.runningMean.value.count], std: 0.5, rng: &rng) }
        for i in 0..<m.sideNets.count {
            try checkText("BERT SideNet \(i) (\(m.attachPoints[i]))", stages: m.earlyExitStages(sideNet: i),
                          sideAlone: { b in try m.forwardAll(b, mode: .eval).side[i] },
                          mainAlone: { b in
                              // the one-pass model and the MainNet alone agree on the MainNet
                              let a = try m.forwardAll(b, mode: .eval).main, p = try m.forwardMain(b, mode: .eval)
                              XCTAssertLessThan(a.maxAbsDifference(p), 1e-5)
                              return a
                          })
        }
    }

    func testResNetSecondSideNetEarlyExit() throws {
        var rng = SeededGenerator(seed: 31)
        let config = ResNetConfig.preset("resnet-tiny-basic", numClasses: 3)!
        let attach = [ResNetAttachPoint.layer1, try ResNetAttachPoint(parsing: "layer3.0")]
        let m = try makeResNetModel(config: config, inputHeight: 32, inputWidth: 32, attach: attach, rng: &rng)
        for s in m.sideNets { s.bn.runningMean.value = Tensor.normal([s.bn.runningMean.value.count], std: 0.5, rng: &rng) }
        let x = Tensor.normal([6, 3, 32, 32], rng: &rng)
        let n = x.shape[0]
        for i in 0..<2 {
            let alone = (0..<n).map { m.forwardAll(x.gatherRows([$0]), mode: .eval) }
            let conf = alone.map { ClassPrediction.rows($0.side[i])[0].confidence }
            for theta in thetas(conf) {
                let results = try m.earlyExit(x, theta: theta, sideNet: i)
                var continuing = 0
                for k in 0..<n {
                    let t = "ResNet SideNet \(i) theta \(theta) example \(k)"
                    XCTAssertLessThanOrEqual(Tensor(shape: [1, 3], data: results[k].sideLogits).maxAbsDifference(alone[k].side[i]), 1e-5, t)
                    if conf[k] >= theta {
                        XCTAssertEqual(results[k].exit, .side, t)
                    } else {
                        continuing += 1
                        XCTAssertEqual(results[k].exit, .main, t)
                        let ml = try XCTUnwrap(results[k].mainLogits, t)
                        XCTAssertLessThanOrEqual(Tensor(shape: [1, 3], data: ml).maxAbsDifference(alone[k].main), 1e-5, t)
                    }
                }
                if theta > 0 && theta < 1 { XCTAssertTrue(continuing > 0 && continuing < n, "a mix at theta \(theta)") }
            }
        }
    }
}
