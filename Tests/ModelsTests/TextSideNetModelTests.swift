import Foundation
import XCTest
import Layers
import Models
import Tensors

/// Several SideNets on one text MainNet: the one-pass forward equals the split calls, and the
/// combined backward equals finite differences of L = <main, r0> + sum_j <side_j, r_j>.
final class TextSideNetModelTests: XCTestCase {
    private func model() throws -> SideNetModel {
        let family = BertFamily()
        let config = try family.readConfigFile(Data("""
            {"model_type": "bert", "hidden_act": "gelu", "hidden_size": 8, "num_hidden_layers": 3,
             "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16, "vocab_size": 30,
             "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
            """.utf8), file: "config.json")
        // the encoder seeded as before the registry (BertModel seed 3), the heads by the model
        let context = MainNetContext(outputs: 3)
        var rng = SeededGenerator(seed: 5)
        return try SideNetModel(backbone: BertModel(config: try family.bertConfig(config, context: context), seed: 3),
                                plan: try family.plan(config, context: context),
                                attach: [("encoder.layer.0", 1), ("encoder.layer.1", 2)], hidden: 4, headHidden: 4,
                                outputs: 3, rng: &rng)
    }

    private let batch = MainNetActivation(tokens: try! TokenBatch(padding: [[2, 5, 7, 9, 3], [2, 11, 3], [2, 4, 4, 3]]))

    func testOnePassEqualsSplitCalls() throws {
        let m = try model()
        let (main, side) = try m.forwardAll(batch, mode: .eval)
        let ref = try m.forwardMain(batch, mode: .eval)
        XCTAssertLessThan(main.maxAbsDifference(ref), 1e-5)
        for j in m.sideNets.indices {
            let s = m.sideLogits(try m.forwardPrefix(batch, mode: .eval, sideNet: j), mode: .eval, sideNet: j)
            XCTAssertLessThan(side[j].maxAbsDifference(s), 1e-5, "SideNet \(j)")
            let rest = try m.forwardRest(try m.forwardPrefix(batch, mode: .eval, sideNet: j), mode: .eval, sideNet: j)
            XCTAssertLessThan(main.maxAbsDifference(rest), 1e-5, "remainder after SideNet \(j)")
        }
        XCTAssertTrue(m.namedParameters().contains { $0.0 == "sidenets.1.fc2.bias" })
    }

    func testBackwardMatchesFiniteDifferences() throws {
        let m = try model()
        sharpenAttention(m.namedParameters(), factor: 8)
        var g = SeededGenerator(seed: 9)
        let (main0, side0) = try m.forwardAll(batch, mode: .eval)
        let r = [Tensor.normal(main0.shape, rng: &g)] + side0.map { Tensor.normal($0.shape, rng: &g) }
        func loss() throws -> Double {
            let (mn, sd) = try m.forwardAll(batch, mode: .eval)
            var l = zip(mn.data, r[0].data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            for (j, s) in sd.enumerated() { l += zip(s.data, r[j + 1].data).reduce(0.0) { $0 + Double($1.0 * $1.1) } }
            return l
        }
        m.zeroGrad()
        _ = try m.forwardAll(batch, mode: .eval)
        m.backwardAll(main: r[0], side: Array(r[1...]))
        let params = Dictionary(uniqueKeysWithValues: m.namedParameters())
        var worst = 0.0
        for key in ["embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight", "encoder.layer.0.attention.self.key.weight",
                    "encoder.layer.1.output.dense.weight", "sidenets.0.fc1.weight", "head.fc1.weight"] {
            let p = params[key]!
            // fixed entries plus the largest analytic gradients: word-embedding rows of tokens the
            // batch never uses have gradient 0, and comparing only those would prove nothing
            var numerics: [Double] = []
            for idx in fdIndices(p.grad, fixed: [0, p.value.count / 2, p.value.count - 1], top: 3) {
                let numeric = try centralDifference(at: p.value.data[idx], h: fdStep(p.value), set: { p.value.data[idx] = $0 }, loss: loss)
                let analytic = Double(p.grad.data[idx])
                numerics.append(numeric)
                let err = fdRelativeError(numeric: numeric, analytic: analytic, floor: 5e-3)
                worst = max(worst, err)
                XCTAssertLessThan(err, 1e-2, "\(key)[\(idx)]: analytic \(analytic), numeric \(numeric)")
            }
            assertSomeNonZero(numerics, floor: 1e-4, key)
        }
        print("text SideNetModel finite-difference check: max relative error \(worst)")
    }
}
