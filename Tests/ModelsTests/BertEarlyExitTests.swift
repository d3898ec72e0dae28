import Foundation
import XCTest
import Tensors
import Layers
import WeightIO
import Models

final class BertEarlyExitTests: XCTestCase {
    /// The fixture BERT with a SideNet after block 1 and non-trivial BatchNorm statistics.
    func model() throws -> SideNetModel {
        let m = try fixtureTextModel("bert", attach: ["encoder.layer.1"])
        var rng = SeededGenerator(seed: 11)
        m.head.bn.runningMean.value = Tensor.normal([32], std: 0.1, rng: &rng)
        m.head.bn.runningVar.value = Tensor.uniform([32], low: 0.5, high: 1.5, rng: &rng)
        m.sideNets[0].bn.runningMean.value = Tensor.normal([32], std: 0.5, rng: &rng)
        return m
    }

    /// Early exit (prefix once, SideNet, gathered remainder) equals running each example alone.
    func testEarlyExitEqualsPerExampleFullModel() throws {
        let m = try model()
        let seqs: [[Int]] = [[2, 5, 9, 14, 33, 7, 8], [2, 40, 41], [2, 17, 3, 99, 12], [2, 60], [2, 8, 8, 8, 21, 22]]
        let batch = MainNetActivation(tokens: try TokenBatch(padding: seqs))
        // theta between SideNet confidences so that some examples exit and some continue
        let sideAll = ClassPrediction.rows(try m.forwardAll(batch, mode: .eval).side[0]).map(\.confidence).sorted()
        let theta = (sideAll[1] + sideAll[2]) / 2
        let restRows = RestLog()
        let results = try earlyExit(countingRest(m.earlyExitStages(), into: restRows), input: batch, theta: theta)

        XCTAssertEqual(results.filter { $0.exit == .side }.count, 3)
        XCTAssertEqual(restRows.rows, [2], "the remainder must run once on the 2 low-confidence examples")
        for (i, s) in seqs.enumerated() {
            let alone = MainNetActivation(tokens: try TokenBatch(padding: [s]))
            let full = try m.forwardAll(alone, mode: .eval)
            let d = abs(full.side[0].data[0] - results[i].sideLogits[0])
            XCTAssertLessThan(d, 1e-5, "example \(i): SideNet logit differs by \(d)")
            if results[i].exit == .main {
                let dm = abs(full.main.data[0] - results[i].mainLogits![0])
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
        let m = try model()
        let sd = m.stateDict()
        XCTAssertNotNil(sd["pooler.dense.weight"])
        XCTAssertNotNil(sd["encoder.layer.1.output.LayerNorm.weight"])
        XCTAssertNotNil(sd["head.fc1.weight"])
        XCTAssertNotNil(sd["head.bn.running_var"])
        XCTAssertNotNil(sd["sidenet.fc1.weight"])
        XCTAssertEqual(sd.keys.filter { !$0.hasPrefix("embeddings.") && !$0.hasPrefix("encoder.")
            && !$0.hasPrefix("pooler.") && !$0.hasPrefix("head.") && !$0.hasPrefix("sidenet.") }, [])
        let other = try fixtureTextModel("bert", attach: ["encoder.layer.1"], seed: 99)
        other.backbone.zeroGrad()
        for (_, p) in other.backbone.namedParameters() { p.value = Tensor(zeros: p.value.shape) }
        XCTAssertNotEqual(other.stateDict(), sd)
        try loadStateDict(into: other, tensors: sd, source: "ckpt")
        XCTAssertEqual(other.stateDict(), sd)
    }
}
