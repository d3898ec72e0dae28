import Foundation
import Tensors
import Layers

/// PyTorch module names of one encoder block, relative to the block (`encoder.layer.N.` /
/// `transformer.layer.N.`). BERT and DistilBERT compute the same post-LayerNorm block.
public struct TransformerLayerNames: Sendable {
    public var query, key, value, attentionOut, attentionNorm, ffnIn, ffnOut, outputNorm: String

    /// HF `BertLayer` (modeling_bert.py).
    public static let bert = TransformerLayerNames(
        query: "attention.self.query", key: "attention.self.key", value: "attention.self.value",
        attentionOut: "attention.output.dense", attentionNorm: "attention.output.LayerNorm",
        ffnIn: "intermediate.dense", ffnOut: "output.dense", outputNorm: "output.LayerNorm")

    /// HF `TransformerBlock` (modeling_distilbert.py).
    public static let distilBert = TransformerLayerNames(
        query: "attention.q_lin", key: "attention.k_lin", value: "attention.v_lin",
        attentionOut: "attention.out_lin", attentionNorm: "sa_layer_norm",
        ffnIn: "ffn.lin1", ffnOut: "ffn.lin2", outputNorm: "output_layer_norm")
}

/// One post-LayerNorm transformer block (formats.md 6.2/6.3):
///   a = LN1(drop(attn(x)·Woᵀ + bo) + x);  y = LN2(drop(GELU(a·W1ᵀ + b1)·W2ᵀ + b2) + a)
///   attn: softmax(Q·Kᵀ/√dh + maskBias) → dropout → ·V, per head.
/// Shapes: x, y [B, T, D] flat; maskBias [B, T] (0 keep, −FLT_MAX padding).
final class TransformerLayer: Module {
    let names: TransformerLayerNames
    let dim, heads, headDim, inner: Int
    let hiddenDropout, attentionDropout: Float
    let query, key, value, attentionOut, ffnIn, ffnOut: Linear
    let attentionNorm, outputNorm: LayerNorm
    let gelu = GELU()

    // Caches of the pending forward (filled only when caching).
    private var B = 0, T = 0
    private var q: [Float] = [], k: [Float] = [], v: [Float] = []
    private var probs: [Float] = []              // [B, H, T, T] softmax before dropout
    private var probsMask: [Float]? = nil        // attention dropout factors
    private var attnOutMask: [Float]? = nil
    private var ffnOutMask: [Float]? = nil

    init(shape s: TransformerShape, names: TransformerLayerNames, rng: inout SeededGenerator) {
        self.names = names
        dim = s.hidden; heads = s.heads; headDim = s.hidden / s.heads; inner = s.intermediate
        hiddenDropout = s.hiddenDropout; attentionDropout = s.attentionDropout
        query = Linear(inFeatures: dim, outFeatures: dim, rng: &rng)
        key = Linear(inFeatures: dim, outFeatures: dim, rng: &rng)
        value = Linear(inFeatures: dim, outFeatures: dim, rng: &rng)
        attentionOut = Linear(inFeatures: dim, outFeatures: dim, rng: &rng)
        attentionNorm = LayerNorm(dim: dim, eps: s.eps)
        ffnIn = Linear(inFeatures: dim, outFeatures: inner, rng: &rng)
        ffnOut = Linear(inFeatures: inner, outFeatures: dim, rng: &rng)
        outputNorm = LayerNorm(dim: dim, eps: s.eps)
    }

    func namedParameters() -> [(String, Parameter)] {
        scoped(names.query, query.namedParameters()) + scoped(names.key, key.namedParameters())
            + scoped(names.value, value.namedParameters())
            + scoped(names.attentionOut, attentionOut.namedParameters())
            + scoped(names.attentionNorm, attentionNorm.namedParameters())
            + scoped(names.ffnIn, ffnIn.namedParameters()) + scoped(names.ffnOut, ffnOut.namedParameters())
            + scoped(names.outputNorm, outputNorm.namedParameters())
    }

    // x: [B*T, D] -> [B*T, D]
    func forward(_ x: Tensor, batch b: Int, length t: Int, maskBias: [Float], mode: Mode,
                 cache: Bool, rng: inout SeededGenerator) -> Tensor {
        let n = b * t, d = dim
        precondition(x.shape == [n, d], "TransformerLayer: input \(x.shape), expected [\(n), \(d)]")
        let qv = query.forward(x).data
        let kv = key.forward(x).data
        let vv = value.forward(x).data

        // attention per (batch, head): softmax(Q·Kᵀ/√dh + maskBias) → dropout → ·V (Layers.AttentionKernels)
        let shape = AttentionShape(batch: b, length: t, heads: heads, headDim: headDim)
        var p = [Float](repeating: 0, count: shape.probsCount)
        let pMask = TransformerDropout.mask(count: p.count, p: attentionDropout, mode: mode, rng: &rng)
        var ctx = [Float](repeating: 0, count: n * d)
        qv.withUnsafeBufferPointer { pq in kv.withUnsafeBufferPointer { pk in vv.withUnsafeBufferPointer { pv in
        p.withUnsafeMutableBufferPointer { pp in ctx.withUnsafeMutableBufferPointer { pc in
        maskBias.withUnsafeBufferPointer { mb in withOptionalPointer(pMask) { dm in
            AttentionKernels.forward(q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, ld: d, keyBias: mb.baseAddress!,
                                     dropMask: dm, probs: pp.baseAddress!, out: pc.baseAddress!, ldo: d, shape: shape)
        } } } } } } }
        var ao = attentionOut.forward(Tensor(shape: [n, d], data: ctx))
        let aoMask = TransformerDropout.mask(count: ao.count, p: hiddenDropout, mode: mode, rng: &rng)
        TransformerDropout.apply(&ao, aoMask)
        let a = attentionNorm.forward(ao, residual: x)

        var o = ffnOut.forward(gelu.forward(ffnIn.forward(a)))
        let oMask = TransformerDropout.mask(count: o.count, p: hiddenDropout, mode: mode, rng: &rng)
        TransformerDropout.apply(&o, oMask)
        let y = outputNorm.forward(o, residual: a)

        if cache {
            B = b; T = t; q = qv; k = kv; v = vv; probs = p; probsMask = pMask
            attnOutMask = aoMask; ffnOutMask = oMask
        } else {
            clearCache()
        }
        return y
    }

    // dy: [B*T, D] -> dx: [B*T, D]
    func backward(_ dy: Tensor) -> Tensor {
        precondition(!probs.isEmpty, "TransformerLayer.backward without a cached forward")
        let b = B, t = T, d = dim
        // y = LN2(o + a)
        let dz2 = outputNorm.backward(dy)
        var dO = dz2
        TransformerDropout.apply(&dO, ffnOutMask)
        var da = dz2
        ffnIn.backward(gelu.backward(ffnOut.backward(dO)), addingInputGradientTo: &da)
        // a = LN1(ao + x)
        let dz1 = attentionNorm.backward(da)
        var dao = dz1
        TransformerDropout.apply(&dao, attnOutMask)
        let dctx = attentionOut.backward(dao).data

        // attention per (batch, head) (Layers.AttentionKernels)
        let shape = AttentionShape(batch: b, length: t, heads: heads, headDim: headDim)
        var dq = [Float](repeating: 0, count: b * t * d)
        var dk = dq, dv = dq
        dctx.withUnsafeBufferPointer { pdc in q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in
        v.withUnsafeBufferPointer { pv in probs.withUnsafeBufferPointer { pp in withOptionalPointer(probsMask) { dm in
        dq.withUnsafeMutableBufferPointer { pdq in dk.withUnsafeMutableBufferPointer { pdk in dv.withUnsafeMutableBufferPointer { pdv in
            AttentionKernels.backward(dOut: pdc.baseAddress!, ldo: d, q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, ld: d,
                                      probs: pp.baseAddress!, dropMask: dm, dq: pdq.baseAddress!, dk: pdk.baseAddress!,
                                      dv: pdv.baseAddress!, ldd: d, shape: shape)
        } } } } } } } } }
        var dx = dz1
        query.backward(Tensor(shape: [b * t, d], data: dq), addingInputGradientTo: &dx)
        key.backward(Tensor(shape: [b * t, d], data: dk), addingInputGradientTo: &dx)
        value.backward(Tensor(shape: [b * t, d], data: dv), addingInputGradientTo: &dx)
        clearCache()
        return dx
    }

    /// Drops this block's own attention caches (the Layers keep their last input until the next forward).
    func clearCache() {
        q = []; k = []; v = []; probs = []; probsMask = nil; attnOutMask = nil; ffnOutMask = nil
    }
}
