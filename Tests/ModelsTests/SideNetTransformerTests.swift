import XCTest
import Layers
import Models
import Tensors

/// Several SideNets on one text MainNet: the one-pass forward equals the split calls, and the
/// combined backward equals finite differences of L = <main, r0> + sum_j <side_j, r_j>.
final class SideNetTransformerTests: XCTestCase {
    private func model() throws -> SideNetTransformer {
        let cfg = try BertConfig(json: Data("""
            {"model_type": "bert", "hidden_act": "gelu", "hidden_size": 8, "num_hidden_layers": 3,
             "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16, "vocab_size": 30,
             "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
            """.utf8))
        let clf = TransformerClassifier(encoder: BertModel(config: cfg, seed: 3), headHidden: 4, outputs: 3, seed: 4)
        return try SideNetTransformer(classifier: clf, attach: ["encoder.layer.0", "encoder.layer.1"], hidden: 4, seed: 5)
    }

    private let batch = try! TokenBatch(padding: [[2, 5, 7, 9, 3], [2, 11, 3], [2, 4, 4, 3]])

    func testOnePassEqualsSplitCalls() throws {
        let m = try model()
        let (main, side) = try m.forwardAll(batch, mode: .eval)
        let ref = try m.classifier.forward(batch, mode: .eval)
        XCTAssertLessThan(main.maxAbsDifference(ref), 1e-5)
        for (j, layer) in m.attachLayers.enumerated() {
            let h = try m.classifier.encoder.forwardPrefix(batch, throughLayer: layer, mode: .eval)
            let s = m.sideNets[j].forward(TransformerEncoder.cls(h), mode: .eval)
            XCTAssertLessThan(side[j].maxAbsDifference(s), 1e-5, "SideNet \(j)")
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
            let (mn, sd) = try m.forwardAll(batch, mode: .eval, cache: false)
            var l = zip(mn.data, r[0].data).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            for (j, s) in sd.enumerated() { l += zip(s.data, r[j + 1].data).reduce(0.0) { $0 + Double($1.0 * $1.1) } }
            return l
        }
        m.zeroGrad()
        _ = try m.forwardAll(batch, mode: .eval, cache: true)
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
        print("SideNetTransformer finite-difference check: max relative error \(worst)")
    }
}
