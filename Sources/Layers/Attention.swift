import Tensors

/// Parameter-free multi-head scaled dot-product attention (HF BERT / DistilBERT eager attention).
/// Shapes: q, k, v [B, T, D] with D = heads·headDim (head h uses columns h·headDim..<(h+1)·headDim);
/// key padding mask [B, T] of 0/1 (1 = real token) -> out [B, T, D].
/// scores = q kᵀ/√headDim; masked keys get −Float.greatestFiniteMagnitude (HF's finfo.min);
/// softmax over keys; optional dropout on the probabilities in train mode; out = P v.
/// Kernels: `AttentionKernels` (one (batch, head) task per thread chunk, single-threaded BLAS,
/// masked softmax with vectorised exp and dropout fused); plain reference `AttentionReference`,
/// held equal in LayersTests/TransformerKernelTests.
public final class ScaledDotProductAttention {
    public let heads: Int
    public let dropoutP: Float
    public var rng: SeededGenerator

    private var cachedQ = Tensor(zeros: [0]), cachedK = Tensor(zeros: [0]), cachedV = Tensor(zeros: [0])
    private var cachedProbs: [Float] = []        // [B, H, T, T] softmax output
    private var cachedDropMask: [Float]? = nil   // [B, H, T, T], 0 or 1/(1−p)

    public init(heads: Int, dropout: Float = 0, rng: SeededGenerator = SeededGenerator(seed: 0)) {
        precondition(heads >= 1 && dropout >= 0 && dropout < 1, "ScaledDotProductAttention: heads \(heads), dropout \(dropout)")
        self.heads = heads
        self.dropoutP = dropout
        self.rng = rng
    }

    public func forward(q: Tensor, k: Tensor, v: Tensor, mask: Tensor?, mode: Mode) -> Tensor {
        precondition(q.rank == 3 && k.shape == q.shape && v.shape == q.shape && q.shape[2] % heads == 0,
                     "attention: q \(q.shape), k \(k.shape), v \(v.shape) must be equal [B, T, D] with D divisible by \(heads) heads")
        let (b, t, d) = (q.shape[0], q.shape[1], q.shape[2]), hd = d / heads
        if let mask { precondition(mask.shape == [b, t], "attention: mask \(mask.shape), expected [\(b), \(t)]") }
        let shape = AttentionShape(batch: b, length: t, heads: heads, headDim: hd)
        var probs = [Float](unsafeUninitializedCapacity: shape.probsCount) { _, n in n = shape.probsCount }   // fully written
        var dropMask: [Float]? = nil
        if mode == .train && dropoutP > 0 {
            let keep = 1 / (1 - dropoutP)
            var m = [Float](repeating: 0, count: probs.count)
            for i in 0..<m.count { m[i] = rng.nextFloat() < dropoutP ? 0 : keep }
            dropMask = m
        }
        var out = Tensor(uninitializedShape: q.shape)
        // key padding mask 0/1 -> additive bias per key (HF: finfo.min where masked)
        let keyBias = mask.map { $0.data.map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 } }
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        probs.withUnsafeMutableBufferPointer { pp in out.data.withUnsafeMutableBufferPointer { po in
        withOptionalPointer(keyBias) { kb in withOptionalPointer(dropMask) { dm in
            AttentionKernels.forward(q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, ld: d, keyBias: kb, dropMask: dm,
                                     probs: pp.baseAddress!, out: po.baseAddress!, ldo: d, shape: shape)
        } } } } } } }
        cachedQ = q; cachedK = k; cachedV = v
        cachedProbs = probs
        cachedDropMask = dropMask
        return out
    }

    /// dV = P̃ᵀ dO; dP̃ = dO Vᵀ; dP = dP̃·dropMask; dS = P·(dP − Σ dP·P); dQ = scale·dS K; dK = scale·dSᵀ Q
    /// (P̃ = dropped probabilities). Kernel: `AttentionKernels.backward`.
    public func backward(_ dOut: Tensor) -> (dq: Tensor, dk: Tensor, dv: Tensor) {
        precondition(dOut.shape == cachedQ.shape, "attention backward: dOut \(dOut.shape), expected \(cachedQ.shape)")
        let (b, t, d) = (cachedQ.shape[0], cachedQ.shape[1], cachedQ.shape[2]), hd = d / heads
        let shape = AttentionShape(batch: b, length: t, heads: heads, headDim: hd)
        var dq = Tensor(uninitializedShape: cachedQ.shape), dk = Tensor(uninitializedShape: cachedQ.shape)
        var dv = Tensor(uninitializedShape: cachedQ.shape)
        dOut.data.withUnsafeBufferPointer { pdo in cachedQ.data.withUnsafeBufferPointer { pq in cachedK.data.withUnsafeBufferPointer { pk in
        cachedV.data.withUnsafeBufferPointer { pv in cachedProbs.withUnsafeBufferPointer { pp in
        dq.data.withUnsafeMutableBufferPointer { pdq in dk.data.withUnsafeMutableBufferPointer { pdk in dv.data.withUnsafeMutableBufferPointer { pdv in
        withOptionalPointer(cachedDropMask) { dm in
            AttentionKernels.backward(dOut: pdo.baseAddress!, ldo: d, q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, ld: d,
                                      probs: pp.baseAddress!, dropMask: dm, dq: pdq.baseAddress!, dk: pdk.baseAddress!,
                                      dv: pdv.baseAddress!, ldd: d, shape: shape)
        } } } } } } } } }
        return (dq, dk, dv)
    }
}

/// State-dict names of the four projections of a self-attention block.
public struct AttentionNames: Sendable {
    public var query, key, value, output: String
    public init(query: String, key: String, value: String, output: String) {
        self.query = query; self.key = key; self.value = value; self.output = output
    }
    /// HF BertAttention: `self.query`, `self.key`, `self.value`, `output.dense`.
    public static let bert = AttentionNames(query: "self.query", key: "self.key", value: "self.value", output: "output.dense")
    /// HF DistilBERT MultiHeadSelfAttention: `q_lin`, `k_lin`, `v_lin`, `out_lin`.
    public static let distilbert = AttentionNames(query: "q_lin", key: "k_lin", value: "v_lin", output: "out_lin")
}

/// Multi-head self-attention: out = O(attention(Q x, K x, V x, mask)). The output projection is
/// included; BERT's residual, dropout and LayerNorm after it are not.
/// Shapes: x [B, T, D], mask [B, T] (1 = real token) -> [B, T, D].
public final class MultiHeadSelfAttention: Module {
    public let dim, heads: Int
    public let names: AttentionNames
    public let query, key, value, output: Linear
    public let attention: ScaledDotProductAttention

    public init(dim: Int, heads: Int, names: AttentionNames = .bert, attentionDropout: Float = 0,
                rng: inout SeededGenerator) {
        precondition(dim % heads == 0, "MultiHeadSelfAttention: dim \(dim) not divisible by \(heads) heads")
        self.dim = dim; self.heads = heads; self.names = names
        query = Linear(inFeatures: dim, outFeatures: dim, rng: &rng)
        key = Linear(inFeatures: dim, outFeatures: dim, rng: &rng)
        value = Linear(inFeatures: dim, outFeatures: dim, rng: &rng)
        output = Linear(inFeatures: dim, outFeatures: dim, rng: &rng)
        attention = ScaledDotProductAttention(heads: heads, dropout: attentionDropout, rng: rng.derived("attention-dropout"))
    }

    public func namedParameters() -> [(String, Parameter)] {
        scoped(names.query, query.namedParameters()) + scoped(names.key, key.namedParameters())
            + scoped(names.value, value.namedParameters()) + scoped(names.output, output.namedParameters())
    }

    public func forward(_ x: Tensor, mask: Tensor?, mode: Mode) -> Tensor {
        let ctx = attention.forward(q: query.forward(x), k: key.forward(x), v: value.forward(x), mask: mask, mode: mode)
        return output.forward(ctx)
    }

    public func backward(_ dOut: Tensor) -> Tensor {
        let (dq, dk, dv) = attention.backward(output.backward(dOut))
        var dx = query.backward(dq)
        key.backward(dk, addingInputGradientTo: &dx)
        value.backward(dv, addingInputGradientTo: &dx)
        return dx
    }
}
