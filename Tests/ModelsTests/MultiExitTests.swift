import Foundation
import Layers
import Models
import Tensors
import XCTest

/// Early exit against running the whole model on each example alone: DistilBERT (the
/// transformers-parity fixture), every SideNet of a multi-SideNet `SideNetTransformer`, and
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
    private func checkText(_ tag: String, stages: EarlyExitStages<TokenBatch, TextActivation>,
                           sideAlone: (TokenBatch) throws -> Tensor, mainAlone: (TokenBatch) throws -> Tensor,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let batch = try TokenBatch(padding: seqs)
        let allConf = try seqs.map { ClassPrediction.rows(try sideAlone(TokenBatch(padding: [$0])))[0].confidence }
        for theta in thetas(allConf) {
            var restRows: [Int] = []
            var counted = stages
            counted.rest = { a in restRows.append(a.hidden.shape[0]); return try stages.rest(a) }
            let results = try earlyExit(counted, input: batch, theta: theta)
            XCTAssertEqual(results.count, seqs.count, file: file, line: line)
            var continuing = 0
            for (i, s) in seqs.enumerated() {
                let alone = try TokenBatch(padding: [s])
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
            XCTAssertEqual(restRows, continuing == 0 ? [] : [continuing], "\(tag) theta \(theta): remainder runs once on the rest",
                           file: file, line: line)
            if theta == 0 { XCTAssertEqual(continuing, 0, file: file, line: line) }
            if theta > 1 { XCTAssertEqual(continuing, seqs.count, file: file, line: line) }
            if theta > 0 && theta < 1 {
                XCTAssertTrue(continuing > 0 && continuing < seqs.count, "\(tag): a mix at theta \(theta)", file: file, line: line)
            }
        }
    }

    func testDistilBertEarlyExitEqualsPerExampleFullModel() throws {
        let cfg = try DistilBertConfig(contentsOf: textFixture("distilbert", "config.json"))
        let enc = DistilBertModel(config: cfg)
        XCTAssertEqual(try enc.loadWeights(contentsOf: textFixture("distilbert", "model.safetensors")), [])
        let c = TransformerClassifier(encoder: enc, outputs: 1, seed: 3)
        var rng = SeededGenerator(seed: 11)
        c.head.bn.runningMean.value = Tensor.normal([c.head.bn.runningMean.value.count], std: 0.1, rng: &rng)
        let side = MLPHead(inFeatures: enc.hiddenSize, outputs: 1, rng: &rng)
        side.bn.runningMean.value = Tensor.normal([side.bn.runningMean.value.count], std: 0.5, rng: &rng)
        for n in 0..<enc.numLayers {
            try checkText("DistilBERT transformer.layer.\(n)",
                          stages: c.earlyExitStages(attachLayer: n, sideNet: { side.forward($0, mode: .eval) }),
                          sideAlone: { b in side.forward(TransformerEncoder.cls(try enc.forwardPrefix(b, throughLayer: n, mode: .eval)), mode: .eval) },
                          mainAlone: { b in try c.forward(b, mode: .eval) })
        }
    }

    func testSideNetTransformerStagesOfEverySideNet() throws {
        let cfg = try BertConfig(contentsOf: textFixture("bert", "config.json"))
        let enc = BertModel(config: cfg)
        try enc.loadWeights(contentsOf: textFixture("bert", "model.safetensors"))
        let c = TransformerClassifier(encoder: enc, outputs: 1, seed: 3)
        XCTAssertGreaterThanOrEqual(enc.numLayers, 2)
        let m = try SideNetTransformer(classifier: c, attach: ["encoder.layer.\(enc.numLayers - 1)", "encoder.layer.0"], hidden: 6, seed: 5)
        var rng = SeededGenerator(seed: 12)
        for s in m.sideNets { s.bn.runningMean.value = Tensor.normal([s.bn.runningMean.value.count], std: 0.5, rng: &rng) }
        for i in 0..<m.sideNets.count {
            let layer = m.attachLayers[i]
            try checkText("SideNetTransformer SideNet \(i) (encoder.layer.\(layer))", stages: m.earlyExitStages(sideNet: i),
                          sideAlone: { b in try m.forwardAll(b, mode: .eval).side[i] },
                          mainAlone: { b in
                              // the one-pass model and the plain classifier agree on the MainNet
                              let a = try m.forwardAll(b, mode: .eval).main, p = try c.forward(b, mode: .eval)
                              XCTAssertLessThan(a.maxAbsDifference(p), 1e-5)
                              return a
                          })
        }
    }

    func testResNetSecondSideNetEarlyExit() throws {
        var rng = SeededGenerator(seed: 31)
        let config = ResNetConfig.preset("resnet-tiny-basic", numClasses: 3)!
        let attach = [ResNetAttachPoint.layer1, try ResNetAttachPoint(parsing: "layer3.0")]
        let m = try SideNetResNet(config: config, inputHeight: 32, inputWidth: 32, attach: attach, rng: &rng)
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
