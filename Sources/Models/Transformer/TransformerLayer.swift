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
///   attn: Layers' `ScaledDotProductAttention` (the parity-tested one): softmax(Q·Kᵀ/√dh, padded
///   keys masked) → dropout → ·V, per head. Its dropout mask is drawn from the encoder's `rng`,
///   so resetting that one generator replays every mask of a forward.
/// Shapes: x, y [B, T, D] flat; maskBias [B, T] (0 keep, −FLT_MAX padding).
final class TransformerLayer: Module {
    let names: TransformerLayerNames
    let dim, heads, headDim, inner: Int
    let hiddenDropout, attentionDropout: Float
    let query, key, value, attentionOut, ffnIn, ffnOut: Linear
    let attentionNorm, outputNorm: LayerNorm
    let gelu = GELU()

    let attention: ScaledDotProductAttention

    // Caches of the pending forward (filled only when caching).
    private var B = 0, T = 0
    private var cached = false
    private var attnOutMask: [Float]? = nil
    private var ffnOutMask: [Float]? = nil

    init(shape s: TransformerShape, names: TransformerLayerNames) {
        self.names = names
        dim = s.hidden; heads = s.heads; headDim = s.hidden / s.heads; inner = s.intermediate
        hiddenDropout = s.hiddenDropout; attentionDropout = s.attentionDropout
        // Storage only: the encoder's `hfInitialize` (or a weight load) writes every element.
        func linear(_ i: Int, _ o: Int) -> Linear {
            Linear(weight: Tensor(uninitializedShape: [o, i]), bias: Tensor(uninitializedShape: [o]))
        }
        query = linear(dim, dim)
        key = linear(dim, dim)
        value = linear(dim, dim)
        attentionOut = linear(dim, dim)
        attentionNorm = LayerNorm(dim: dim, eps: s.eps)
        ffnIn = linear(dim, inner)
        ffnOut = linear(inner, dim)
        outputNorm = LayerNorm(dim: dim, eps: s.eps)
        attention = ScaledDotProductAttention(heads: heads, dropout: attentionDropout)
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
        let mask = Tensor(shape: [b, t], data: maskBias.map { $0 == 0 ? 1 : 0 })
        attention.rng = rng   // the probability mask comes from the encoder's generator
        let ctx = attention.forward(q: query.forward(x).reshaped([b, t, d]), k: key.forward(x).reshaped([b, t, d]),
                                    v: value.forward(x).reshaped([b, t, d]), mask: mask, mode: mode)
        rng = attention.rng
        var ao = attentionOut.forward(ctx.reshaped([n, d]))
        let aoMask = TransformerDropout.mask(count: ao.count, p: hiddenDropout, mode: mode, rng: &rng)
        TransformerDropout.apply(&ao, aoMask)
        let a = attentionNorm.forward(ao, residual: x)

        var o = ffnOut.forward(gelu.forward(ffnIn.forward(a)))
        let oMask = TransformerDropout.mask(count: o.count, p: hiddenDropout, mode: mode, rng: &rng)
        TransformerDropout.apply(&o, oMask)
        let y = outputNorm.forward(o, residual: a)

        if cache {
            B = b; T = t; cached = true
            attnOutMask = aoMask; ffnOutMask = oMask
        } else {
            clearCache()
        }
        return y
    }

    // dy: [B*T, D] -> dx: [B*T, D]
    func backward(_ dy: Tensor) -> Tensor {
        precondition(cached, "TransformerLayer.backward without a cached forward")
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
        let (dq, dk, dv) = attention.backward(attentionOut.backward(dao).reshaped([b, t, d]))
        var dx = dz1
        query.backward(dq.reshaped([b * t, d]), addingInputGradientTo: &dx)
        key.backward(dk.reshaped([b * t, d]), addingInputGradientTo: &dx)
        value.backward(dv.reshaped([b * t, d]), addingInputGradientTo: &dx)
        clearCache()
        return dx
    }

    /// Drops this block's own attention caches (the Layers keep their last input until the next forward).
    func clearCache() {
        cached = false; attnOutMask = nil; ffnOutMask = nil
    }
}
