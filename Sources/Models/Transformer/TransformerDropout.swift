import Tensors
import Layers

/// Inverted dropout masks for the text encoders: each element kept with probability 1−p and
/// scaled by 1/(1−p) (same semantics as Layers.Dropout). Kept local on purpose: every mask of a
/// BERT/DistilBERT forward is drawn from the encoder's single `rng`, so resetting that one
/// generator replays the exact same masks (used by the train-mode gradient test and for
/// reproducible runs), instead of one generator per Dropout instance.
enum TransformerDropout {
    /// A mask of `count` factors (0 or 1/(1−p)); nil when no dropout applies (eval or p = 0).
    static func mask(count: Int, p: Float, mode: Mode, rng: inout SeededGenerator) -> [Float]? {
        guard mode == .train, p > 0 else { return nil }
        let scale = 1 / (1 - p)
        var m = [Float](repeating: 0, count: count)
        for i in 0..<count { m[i] = rng.nextFloat() < p ? 0 : scale }
        return m
    }

    static func apply(_ x: inout [Float], _ mask: [Float]?) {
        guard let mask else { return }
        precondition(mask.count == x.count)
        for i in 0..<x.count { x[i] *= mask[i] }
    }

    static func apply(_ x: inout Tensor, _ mask: [Float]?) { apply(&x.data, mask) }
}

/// HF-style init (BertPreTrainedModel._init_weights): Linear and Embedding weights ~ N(0, 0.02),
/// biases 0, LayerNorm weight 1 / bias 0. Only matters for tests and from-scratch models.
func hfInitialize(_ params: [(String, Parameter)], rng: inout SeededGenerator) {
    // in place (the storage may be uninitialised): the values of `Tensor.normal(std: 0.02)`
    let mean: Float = 0, std: Float = 0.02
    for (name, p) in params {
        let isNorm = name.contains("LayerNorm") || name.contains("layer_norm")
        let fill: Float? = isNorm ? (name.hasSuffix("weight") ? 1 : 0) : (name.hasSuffix("bias") ? 0 : nil)
        p.value.data.withUnsafeMutableBufferPointer { buf in
            if let fill { buf.update(repeating: fill); return }
            for i in 0..<buf.count { buf[i] = mean + std * rng.nextNormal() }
        }
    }
}
