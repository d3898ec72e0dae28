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

        // scores and softmax per (batch, head)
        let scale = 1 / Float(headDim).squareRoot()
        var p = [Float](repeating: 0, count: b * heads * t * t)
        qv.withUnsafeBufferPointer { pq in
            kv.withUnsafeBufferPointer { pk in
                p.withUnsafeMutableBufferPointer { pp in
                    for bi in 0..<b {
                        for h in 0..<heads {
                            let off = bi * t * d + h * headDim
                            sgemm(transB: true, m: t, n: t, k: headDim, alpha: scale,
                                  a: pq.baseAddress! + off, lda: d, b: pk.baseAddress! + off, ldb: d,
                                  c: pp.baseAddress! + (bi * heads + h) * t * t, ldc: t)
                        }
                    }
                    TransformerLayer.maskedSoftmax(pp, batch: b, heads: heads, length: t, maskBias: maskBias)
                }
            }
        }
        let pMask = TransformerDropout.mask(count: p.count, p: attentionDropout, mode: mode, rng: &rng)
        var pd = p
        TransformerDropout.apply(&pd, pMask)

        // context = P·V per head, heads merged back into [B, T, D]
        var ctx = [Float](repeating: 0, count: n * d)
        pd.withUnsafeBufferPointer { pp in
            vv.withUnsafeBufferPointer { pv in
                ctx.withUnsafeMutableBufferPointer { pc in
                    for bi in 0..<b {
                        for h in 0..<heads {
                            let off = bi * t * d + h * headDim
                            sgemm(m: t, n: headDim, k: t, a: pp.baseAddress! + (bi * heads + h) * t * t, lda: t,
                                  b: pv.baseAddress! + off, ldb: d, c: pc.baseAddress! + off, ldc: d)
                        }
                    }
                }
            }
        }
        var ao = attentionOut.forward(Tensor(shape: [n, d], data: ctx))
        let aoMask = TransformerDropout.mask(count: ao.count, p: hiddenDropout, mode: mode, rng: &rng)
        TransformerDropout.apply(&ao, aoMask)
        for i in 0..<ao.count { ao.data[i] += x.data[i] }
        let a = attentionNorm.forward(ao)

        var o = ffnOut.forward(gelu.forward(ffnIn.forward(a)))
        let oMask = TransformerDropout.mask(count: o.count, p: hiddenDropout, mode: mode, rng: &rng)
        TransformerDropout.apply(&o, oMask)
        for i in 0..<o.count { o.data[i] += a.data[i] }
        let y = outputNorm.forward(o)

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
        var da = ffnIn.backward(gelu.backward(ffnOut.backward(dO)))
        for i in 0..<da.count { da.data[i] += dz2.data[i] }
        // a = LN1(ao + x)
        let dz1 = attentionNorm.backward(da)
        var dao = dz1
        TransformerDropout.apply(&dao, attnOutMask)
        let dctx = attentionOut.backward(dao).data

        // attention per head
        let scale = 1 / Float(headDim).squareRoot()
        var pd = probs
        TransformerDropout.apply(&pd, probsMask)
        var dq = [Float](repeating: 0, count: b * t * d)
        var dk = dq, dv = dq
        var dP = [Float](repeating: 0, count: t * t)
        for bi in 0..<b {
            for h in 0..<heads {
                let off = bi * t * d + h * headDim
                let poff = (bi * heads + h) * t * t
                dctx.withUnsafeBufferPointer { pdc in
                    // dPd = dctx·Vᵀ ; dV = Pdᵀ·dctx
                    v.withUnsafeBufferPointer { pv in
                        dP.withUnsafeMutableBufferPointer { pdp in
                            sgemm(transB: true, m: t, n: t, k: headDim, a: pdc.baseAddress! + off, lda: d,
                                  b: pv.baseAddress! + off, ldb: d, c: pdp.baseAddress!, ldc: t)
                        }
                    }
                    pd.withUnsafeBufferPointer { ppd in
                        dv.withUnsafeMutableBufferPointer { pdv in
                            sgemm(transA: true, m: t, n: headDim, k: t, a: ppd.baseAddress! + poff, lda: t,
                                  b: pdc.baseAddress! + off, ldb: d, c: pdv.baseAddress! + off, ldc: d)
                        }
                    }
                }
                // through dropout and softmax: dS = P ⊙ (dP − Σ_j dP·P)
                if let m = probsMask { for i in 0..<(t * t) { dP[i] *= m[poff + i] } }
                for r in 0..<t {
                    var dot: Float = 0
                    for j in 0..<t { dot += dP[r * t + j] * probs[poff + r * t + j] }
                    for j in 0..<t { dP[r * t + j] = probs[poff + r * t + j] * (dP[r * t + j] - dot) }
                }
                // dQ = scale·dS·K ; dK = scale·dSᵀ·Q
                dP.withUnsafeBufferPointer { pds in
                    k.withUnsafeBufferPointer { pk in
                        dq.withUnsafeMutableBufferPointer { pdq in
                            sgemm(m: t, n: headDim, k: t, alpha: scale, a: pds.baseAddress!, lda: t,
                                  b: pk.baseAddress! + off, ldb: d, c: pdq.baseAddress! + off, ldc: d)
                        }
                    }
                    q.withUnsafeBufferPointer { pq in
                        dk.withUnsafeMutableBufferPointer { pdk in
                            sgemm(transA: true, m: t, n: headDim, k: t, alpha: scale, a: pds.baseAddress!, lda: t,
                                  b: pq.baseAddress! + off, ldb: d, c: pdk.baseAddress! + off, ldc: d)
                        }
                    }
                }
            }
        }
        var dx = dz1
        let dxq = query.backward(Tensor(shape: [b * t, d], data: dq))
        let dxk = key.backward(Tensor(shape: [b * t, d], data: dk))
        let dxv = value.backward(Tensor(shape: [b * t, d], data: dv))
        for i in 0..<dx.count { dx.data[i] += dxq.data[i] + dxk.data[i] + dxv.data[i] }
        clearCache()
        return dx
    }

    /// Drops this block's own attention caches (the Layers keep their last input until the next forward).
    func clearCache() {
        q = []; k = []; v = []; probs = []; probsMask = nil; attnOutMask = nil; ffnOutMask = nil
    }

    /// In-place softmax over the last axis of scores [B, H, T, T] after adding maskBias[b, key].
    static func maskedSoftmax(_ s: UnsafeMutableBufferPointer<Float>, batch b: Int, heads: Int, length t: Int,
                              maskBias: [Float]) {
        maskBias.withUnsafeBufferPointer { mb in
            parallelFor(b * heads * t, minChunk: 256) { range in
                for row in range {
                    let bi = row / (heads * t)
                    let base = s.baseAddress! + row * t
                    let bias = mb.baseAddress! + bi * t
                    var mx = -Float.greatestFiniteMagnitude
                    for j in 0..<t { base[j] += bias[j]; mx = Swift.max(mx, base[j]) }
                    var sum: Float = 0
                    for j in 0..<t { let e = expf(base[j] - mx); base[j] = e; sum += e }
                    let inv = 1 / sum
                    for j in 0..<t { base[j] *= inv }
                }
            }
        }
    }
}
