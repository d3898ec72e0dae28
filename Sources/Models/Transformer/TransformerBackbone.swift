import Foundation
import Layers
import Tensors

// BERT / DistilBERT as a `MainNetBackbone`: unit 0 = embeddings (token ids -> [B, T, D]),
// unit i = block i-1. The SideNet reads the [CLS] state (position 0) of a block's output; the
// head reads the family's features (BERT: pooler output; DistilBERT: last [CLS] state).
// Caches for backward are kept in both modes (eval-mode backward serves frozen-BatchNorm
// regimes and finite-difference checks) until `clearCaches`.

extension TransformerEncoder: MainNetBackbone {
    public var unitCount: Int { numLayers + 1 }

    // a: ids + mask (range from 0) or hidden [B, T, D] + mask -> hidden [B, T, D] + mask
    public func forwardUnits(_ a: MainNetActivation, _ range: Range<Int>, mode: Mode) throws -> MainNetActivation {
        if range.isEmpty { return a }
        guard let mask = a.mask, mask.rank == 2 else { throw TextModelError.invalidInput("text activation without a [B, T] mask") }
        let b = mask.shape[0], t = mask.shape[1], d = hiddenSize
        let keep = true
        var h = a.tensor
        var bias: [Float] = []
        for u in range {
            if u == 0 {
                guard let ids = a.tokenIDs else { throw TextModelError.invalidInput("unit 0 (embeddings) needs token ids") }
                h = try embeddings.forward(try TokenBatch(ids: ids, mask: mask), mode: mode, cache: keep, rng: &rng)
            } else {
                guard h.count == b * t * d else {
                    throw TextModelError.invalidInput("hidden \(h.shape) with mask \(mask.shape); expected [B,T,\(d)] and [B,T]")
                }
                if bias.isEmpty { bias = mask.data.map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 } }
                h = layers[u - 1].forward(h.reshaped([b * t, d]), batch: b, length: t, maskBias: bias, mode: mode,
                                          cache: keep, rng: &rng)
            }
        }
        return MainNetActivation(h.reshaped([b, t, d]), mask: mask)
    }

    // d [B, T, D] at the output of the last unit of `range` -> at its input ([0] from the embeddings)
    public func backwardUnits(_ d: Tensor, _ range: Range<Int>) -> Tensor {
        var g = d.reshaped([d.count / hiddenSize, hiddenSize])
        for u in range.reversed() {
            if u == 0 { embeddings.backward(g); return Tensor(zeros: [0]) }
            g = layers[u - 1].backward(g)
        }
        return g.reshaped(d.shape)
    }

    public func sideInput(_ a: MainNetActivation) -> Tensor { TransformerEncoder.cls(a.tensor) }

    public func sideInputBackward(_ d: Tensor, shape: [Int]) -> Tensor { TransformerEncoder.clsGradient(d, length: shape[1]) }

    public func headInput(_ a: MainNetActivation, mode: Mode) -> Tensor {
        restB = a.tensor.shape[0]; restT = a.tensor.shape[1]
        return features(a.tensor, cache: true)
    }

    public func headInputBackward(_ d: Tensor) -> Tensor { featuresBackward(d, batch: restB, length: restT) }

    public func clearCaches() { for l in layers { l.clearCache() } }

    /// Eval-only: `inferenceFeatures` (no caches; the last block on [CLS] rows only). Unit u >= 1
    /// is block u-1; an attach at unit 0 (the embeddings) takes the unit-by-unit path.
    public func cacheFeatures(_ x: MainNetActivation, attachUnits: [Int]) throws -> (attach: [Tensor], head: Tensor)? {
        guard attachUnits.allSatisfy({ $0 >= 1 }), let ids = x.tokenIDs, let mask = x.mask else { return nil }
        return try inferenceFeatures(try TokenBatch(ids: ids, mask: mask), attachLayers: attachUnits.map { $0 - 1 })
    }

    public func reseedDropout(_ generator: SeededGenerator) { rng = generator }

    public var computesInputGradient: Bool {
        get { false }
        set {}
    }
}
