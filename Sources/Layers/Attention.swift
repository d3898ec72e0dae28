import Tensors

/// Parameter-free multi-head scaled dot-product attention (HF BERT / DistilBERT eager attention).
/// Shapes: q, k, v [B, T, D] with D = heads·headDim (head h uses columns h·headDim..<(h+1)·headDim);
/// key padding mask [B, T] of 0/1 (1 = real token) -> out [B, T, D].
/// scores = q kᵀ/√headDim; masked keys get −Float.greatestFiniteMagnitude (HF's finfo.min);
/// softmax over keys; optional dropout on the probabilities in train mode; out = P v.
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
        let scale = 1 / Float(hd).squareRoot()
        var probs = [Float](repeating: 0, count: b * heads * t * t)
        var dropMask: [Float]? = nil
        if mode == .train && dropoutP > 0 {
            let keep = 1 / (1 - dropoutP)
            var m = [Float](repeating: 0, count: probs.count)
            for i in 0..<m.count { m[i] = rng.nextFloat() < dropoutP ? 0 : keep }
            dropMask = m
        }
        var out = Tensor(zeros: q.shape)
        let maskData = mask?.data
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        probs.withUnsafeMutableBufferPointer { pp in out.data.withUnsafeMutableBufferPointer { po in
            let (qb, kb, vb, pb, ob) = (pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, pp.baseAddress!, po.baseAddress!)
            withBLASThreads(1) {
                parallelChunks(b * heads) { _, range in
                    var dropped = [Float](repeating: 0, count: dropMask == nil ? 0 : t * t)
                    for bh in range {
                        let (bi, h) = (bh / heads, bh % heads)
                        let off = bi * t * d + h * hd
                        let s = pb + bh * t * t
                        // S [T, T] = scale · Q Kᵀ
                        sgemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: qb + off, lda: d, b: kb + off, ldb: d, c: s)
                        if let maskData {
                            for j in 0..<t where maskData[bi * t + j] == 0 {
                                for i in 0..<t { s[i * t + j] = -Float.greatestFiniteMagnitude }
                            }
                        }
                        softmaxRows(s, rows: t, cols: t)
                        if let dropMask {
                            for i in 0..<(t * t) { dropped[i] = s[i] * dropMask[bh * t * t + i] }
                            dropped.withUnsafeBufferPointer { dp in
                                sgemm(m: t, n: hd, k: t, a: dp.baseAddress!, b: vb + off, ldb: d, c: ob + off, ldc: d)
                            }
                        } else {
                            sgemm(m: t, n: hd, k: t, a: s, b: vb + off, ldb: d, c: ob + off, ldc: d)
                        }
                    }
                }
            }
        } } } } }
        cachedQ = q; cachedK = k; cachedV = v
        cachedProbs = probs
        cachedDropMask = dropMask
        return out
    }

    /// dV = P̃ᵀ dO; dP̃ = dO Vᵀ; dP = dP̃·dropMask; dS = P·(dP − Σ dP·P); dQ = scale·dS K; dK = scale·dSᵀ Q
    /// (P̃ = dropped probabilities).
    public func backward(_ dOut: Tensor) -> (dq: Tensor, dk: Tensor, dv: Tensor) {
        precondition(dOut.shape == cachedQ.shape, "attention backward: dOut \(dOut.shape), expected \(cachedQ.shape)")
        let (b, t, d) = (cachedQ.shape[0], cachedQ.shape[1], cachedQ.shape[2]), hd = d / heads
        let scale = 1 / Float(hd).squareRoot()
        var dq = Tensor(zeros: cachedQ.shape), dk = Tensor(zeros: cachedQ.shape), dv = Tensor(zeros: cachedQ.shape)
        let dropMask = cachedDropMask
        dOut.data.withUnsafeBufferPointer { pdo in cachedQ.data.withUnsafeBufferPointer { pq in cachedK.data.withUnsafeBufferPointer { pk in
        cachedV.data.withUnsafeBufferPointer { pv in cachedProbs.withUnsafeBufferPointer { pp in
        dq.data.withUnsafeMutableBufferPointer { pdq in dk.data.withUnsafeMutableBufferPointer { pdk in dv.data.withUnsafeMutableBufferPointer { pdv in
            let (dob, qb, kb, vb, pb) = (pdo.baseAddress!, pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, pp.baseAddress!)
            let (dqb, dkb, dvb) = (pdq.baseAddress!, pdk.baseAddress!, pdv.baseAddress!)
            withBLASThreads(1) {
                parallelChunks(b * heads) { _, range in
                    var dp = [Float](repeating: 0, count: t * t)
                    var dropped = [Float](repeating: 0, count: t * t)
                    dp.withUnsafeMutableBufferPointer { dpp in dropped.withUnsafeMutableBufferPointer { drp in
                        let dpb = dpp.baseAddress!, drb = drp.baseAddress!
                        for bh in range {
                            let (bi, h) = (bh / heads, bh % heads)
                            let off = bi * t * d + h * hd
                            let p = pb + bh * t * t
                            let pt: UnsafePointer<Float>
                            if let dropMask {
                                for i in 0..<(t * t) { drb[i] = p[i] * dropMask[bh * t * t + i] }
                                pt = UnsafePointer(drb)
                            } else { pt = p }
                            sgemm(transA: true, m: t, n: hd, k: t, a: pt, b: dob + off, ldb: d, c: dvb + off, ldc: d)
                            sgemm(transB: true, m: t, n: t, k: hd, a: dob + off, lda: d, b: vb + off, ldb: d, c: dpb)
                            if let dropMask { for i in 0..<(t * t) { dpb[i] *= dropMask[bh * t * t + i] } }
                            softmaxBackwardRows(p, dpb, rows: t, cols: t)
                            sgemm(m: t, n: hd, k: t, alpha: scale, a: dpb, b: kb + off, ldb: d, c: dqb + off, ldc: d)
                            sgemm(transA: true, m: t, n: hd, k: t, alpha: scale, a: dpb, b: qb + off, ldb: d, c: dkb + off, ldc: d)
                        }
                    } }
                }
            }
        } } } } } } } }
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
        let dxk = key.backward(dk), dxv = value.backward(dv)
        for i in 0..<dx.count { dx.data[i] += dxk.data[i] + dxv.data[i] }
        return dx
    }
}
