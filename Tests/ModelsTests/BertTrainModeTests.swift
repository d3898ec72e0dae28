import Foundation
import XCTest
import Tensors
import Layers
import Models

final class BertTrainModeTests: XCTestCase {
    /// Dropout is seeded: same seed, same output; differs from eval; eval is deterministic.
    func testDropoutIsSeededAndTrainDiffersFromEval() throws {
        let cfg = BertConfig(hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 24,
                             maxPositionEmbeddings: 8, vocabSize: 20)
        let m = BertModel(config: cfg, seed: 1)
        let batch = try TokenBatch(padding: [[2, 3, 4, 5], [2, 9]])
        let start = m.rng
        let a = try m.forward(batch, mode: .train, cache: false)
        m.rng = start
        let b = try m.forward(batch, mode: .train, cache: false)
        XCTAssertEqual(a, b)
        let e = try m.forward(batch, mode: .eval)
        XCTAssertGreaterThan(a.maxAbsDifference(e), 1e-4)
        XCTAssertEqual(e, try m.forward(batch, mode: .eval))
    }

    /// Train-mode backward (with dropout masks fixed by reseeding) against central finite
    /// differences in Double-free Float32: loss = Σ features·r plus a SideNet-style term Σ cls₀·s.
    func testTrainModeGradientsMatchFiniteDifferences() throws {
        let cfg = DistilBertConfig(dim: 8, nLayers: 2, nHeads: 2, hiddenDim: 12, maxPositionEmbeddings: 6, vocabSize: 11,
                                   dropout: 0.2, attentionDropout: 0.2)
        for model in [DistilBertModel(config: cfg, seed: 3) as TransformerEncoder,
                      BertModel(config: BertConfig(hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 12,
                                                   maxPositionEmbeddings: 6, vocabSize: 11, hiddenDropoutProb: 0.2,
                                                   attentionProbsDropoutProb: 0.2), seed: 3)] {
            sharpenAttention(model.namedParameters(), factor: 8)
            let batch = try TokenBatch(padding: [[1, 3, 5, 7, 2], [1, 4, 2]])
            var rng = SeededGenerator(seed: 9)
            let r = Tensor.normal([2, 8], rng: &rng), s = Tensor.normal([2, 8], rng: &rng)
            let seed = model.rng
            func loss() throws -> Double {
                model.rng = seed
                let h = try model.forwardPrefix(batch, throughLayer: 0, mode: .train, cache: false)
                let f = try model.forwardRest(h, mask: batch.mask, fromLayer: 1, mode: .train, cache: false)
                let c = TransformerEncoder.cls(h)
                var l = 0.0
                for i in 0..<16 { l += Double(f.data[i] * r.data[i]) + Double(c.data[i] * s.data[i]) }
                return l
            }
            model.zeroGrad()
            model.rng = seed
            let h = try model.forwardPrefix(batch, throughLayer: 0, mode: .train)
            _ = try model.forwardRest(h, mask: batch.mask, fromLayer: 1, mode: .train)
            var dh = model.backwardRest(r)
            let dc = TransformerEncoder.clsGradient(s, length: batch.length)
            for i in 0..<dh.count { dh.data[i] += dc.data[i] }
            model.backwardPrefix(dh)

            var worst: Float = 0
            // tensors whose sampled gradients clear the relative-error floor (the rest are only
            // bounded absolutely: last-layer query/key gradients are ~1e-4 even with sharpened attention)
            var resolved = 0, checkedTensors = 0
            for (name, p) in model.namedParameters() {
                // fixed entries plus the largest analytic gradients (unused embedding rows are 0)
                var numerics: [Double] = []
                defer {
                    let analyticMax = p.grad.data.map(abs).max() ?? 0
                    if hasZeroGradientByConstruction(name) {
                        XCTAssertLessThan(max(numerics.map(abs).max() ?? 0, Double(analyticMax)), 1e-3, "\(name): must have no gradient")
                    } else {
                        XCTAssertGreaterThan(analyticMax, 1e-6, "\(name): the analytic gradient is identically 0")
                        if numerics.contains(where: { abs($0) > 1e-2 }) { resolved += 1 }
                        checkedTensors += 1
                    }
                }
                for idx in fdIndices(p.grad, fixed: [0, p.value.count / 2, p.value.count - 1], top: 2) {
                    let fd = Float(try centralDifference(at: p.value.data[idx], h: fdStep(p.value), set: { p.value.data[idx] = $0 }, loss: loss))
                    let an = p.grad.data[idx]
                    numerics.append(Double(fd))
                    // relative, on a floor of 1e-2 (not max(1, |fd|), which made 2e-2 absolute on small gradients)
                    let err = Float(fdRelativeError(numeric: Double(fd), analytic: Double(an), floor: 1e-2))
                    worst = max(worst, err)
                    XCTAssertLessThan(err, 2e-2, "\(name)[\(idx)]: analytic \(an), finite difference \(fd)")
                }
            }
            XCTAssertLessThan(worst, 2e-2)
            XCTAssertGreaterThanOrEqual(Double(resolved), 0.6 * Double(checkedTensors),
                                        "only \(resolved) of \(checkedTensors) tensors have gradients above the 1e-2 floor")
        }
    }
}
