import Foundation
import XCTest
import Tensors
import Layers
import WeightIO
import Models

final class BertEarlyExitTests: XCTestCase {
    func classifier() throws -> TransformerClassifier {
        let cfg = try BertConfig(contentsOf: textFixture("bert", "config.json"))
        let enc = BertModel(config: cfg)
        try enc.loadWeights(contentsOf: textFixture("bert", "model.safetensors"))
        let c = TransformerClassifier(encoder: enc, outputs: 1, seed: 3)
        var rng = SeededGenerator(seed: 11)
        c.head.bn.runningMean.value = Tensor.normal([32], std: 0.1, rng: &rng)
        c.head.bn.runningVar.value = Tensor.uniform([32], low: 0.5, high: 1.5, rng: &rng)
        return c
    }

    /// Early exit (prefix once, SideNet, gathered remainder) equals running each example alone.
    func testEarlyExitEqualsPerExampleFullModel() throws {
        let c = try classifier()
        var rng = SeededGenerator(seed: 5)
        let side = MLPHead(inFeatures: 32, outputs: 1, rng: &rng)
        let seqs: [[Int]] = [[2, 5, 9, 14, 33, 7, 8], [2, 40, 41], [2, 17, 3, 99, 12], [2, 60], [2, 8, 8, 8, 21, 22]]
        let batch = try TokenBatch(padding: seqs)
        let n = 1
        // theta between SideNet confidences so that some examples exit and some continue
        let sideAll = ClassPrediction.rows(side.forward(TransformerEncoder.cls(
            try c.encoder.forwardPrefix(batch, throughLayer: n, mode: .eval)), mode: .eval)).map(\.confidence).sorted()
        let theta = (sideAll[1] + sideAll[2]) / 2
        var restRows: [Int] = []
        var stages = c.earlyExitStages(attachLayer: n, sideNet: { side.forward($0, mode: .eval) })
        let rest = stages.rest
        stages.rest = { a in restRows.append(a.hidden.shape[0]); return try rest(a) }
        let results = try earlyExit(stages, input: batch, theta: theta)

        XCTAssertEqual(results.filter { $0.exit == .side }.count, 3)
        XCTAssertEqual(restRows, [2], "the remainder must run once on the 2 low-confidence examples")
        for (i, s) in seqs.enumerated() {
            let alone = try TokenBatch(padding: [s])
            let sideAlone = side.forward(TransformerEncoder.cls(
                try c.encoder.forwardPrefix(alone, throughLayer: n, mode: .eval)), mode: .eval)
            let d = abs(sideAlone.data[0] - results[i].sideLogits[0])
            XCTAssertLessThan(d, 1e-5, "example \(i): SideNet logit differs by \(d)")
            if results[i].exit == .main {
                let full = try c.forward(alone, mode: .eval)
                let dm = abs(full.data[0] - results[i].mainLogits![0])
                XCTAssertLessThan(dm, 1e-5, "example \(i): MainNet logit differs by \(dm)")
                XCTAssertLessThan(results[i].sideConfidence, theta)
            } else {
                XCTAssertNil(results[i].mainLogits)
                XCTAssertGreaterThanOrEqual(results[i].sideConfidence, theta)
            }
        }
    }

    /// Harness checkpoint names and a strict round trip through loadStateDict.
    func testClassifierCheckpointKeysRoundTrip() throws {
        let c = try classifier()
        let sd = c.stateDict()
        XCTAssertNotNil(sd["pooler.dense.weight"])
        XCTAssertNotNil(sd["encoder.layer.1.output.LayerNorm.weight"])
        XCTAssertNotNil(sd["head.fc1.weight"])
        XCTAssertNotNil(sd["head.bn.running_var"])
        XCTAssertEqual(sd.keys.filter { !$0.hasPrefix("embeddings.") && !$0.hasPrefix("encoder.")
            && !$0.hasPrefix("pooler.") && !$0.hasPrefix("head.") }, [])
        let cfg = try BertConfig(contentsOf: textFixture("bert", "config.json"))
        let other = TransformerClassifier(encoder: BertModel(config: cfg, seed: 99), seed: 4)
        XCTAssertNotEqual(other.stateDict(), sd)
        try loadStateDict(into: other, tensors: sd, source: "ckpt")
        XCTAssertEqual(other.stateDict(), sd)
    }
}
