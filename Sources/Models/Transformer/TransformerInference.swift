import Foundation
import Tensors
import Layers

// The eval-only pass that feeds the feature cache (regimes heads / sidenet): the [CLS] state
// after each attach block and the head features, nothing else. No layer keeps a cache for
// backward (the training path keeps every block's inputs, ~100 MB per BERT-large block at
// 128×20 tokens), and the last block runs only what its [CLS] output needs: keys and values for
// every token, but the query, attention, output projection, LayerNorms and feed-forward for the
// [CLS] row alone (about 2/3 of that block's work). The full-token blocks call the same kernels
// as the training path's eval forward, so their outputs are identical; the [CLS]-only block is
// the same arithmetic on fewer rows (tested against the full forward within 1e-5; bit-identical
// at BERT sizes, see `clsOnlyMinimumWork`).

extension TransformerEncoder {
    /// Eval-mode [CLS] states after blocks `attachLayers` ([B, D] each, in that order) and the
    /// head features [B, D] (BERT: pooler output; DistilBERT: last [CLS] state).
    public func inferenceFeatures(_ batch: TokenBatch, attachLayers: [Int]) throws -> (attach: [Tensor], head: Tensor) {
        for n in attachLayers where n < 0 || n >= numLayers {
            throw TextModelError.invalidInput("attach block \(n) outside 0..<\(numLayers)")
        }
        let b = batch.batchSize, t = batch.length
        let keyBias = batch.maskBias
        var h = try embeddings.forward(batch, mode: .eval, cache: false, rng: &rng)
        var attach = [Tensor?](repeating: nil, count: attachLayers.count)
        for i in 0..<(numLayers - 1) {
            h = layers[i].inferenceForward(h, batch: b, length: t, keyBias: keyBias)
            for (j, n) in attachLayers.enumerated() where n == i { attach[j] = TransformerLayer.clsRows(h, batch: b, length: t) }
        }
        let lastBlock = layers[numLayers - 1]
        let last = b * hiddenSize * hiddenSize >= TransformerEncoder.clsOnlyMinimumWork
            ? lastBlock.inferenceCLS(h, batch: b, length: t, keyBias: keyBias)
            : TransformerLayer.clsRows(lastBlock.inferenceForward(h, batch: b, length: t, keyBias: keyBias), batch: b, length: t)
        for (j, n) in attachLayers.enumerated() where n == numLayers - 1 { attach[j] = last }
        return (attach.map { $0! }, features(cls: last))
    }
}

extension TransformerEncoder {
    /// The [CLS]-only last block runs when its smallest GEMM ([B, D] x [D, D]) has at least this
    /// many multiply-adds. Below it the saving is negligible, and OpenBLAS picks size-dependent
    /// kernels for small products that round differently from the full-token GEMM: tiny models
    /// (the tests' BERTs) then keep their features bit-identical to the training path's eval
    /// forward. At BERT sizes the row subset rounds exactly as the full product (checked).
    /// Tests set it to 0 to exercise the [CLS]-only block on small configs.
    nonisolated(unsafe) public static var clsOnlyMinimumWork = 8_000_000
}

extension TransformerLayer {
    /// The block in eval mode without caches: x [B*T, D] -> y [B*T, D], keyBias [B, T]
    /// (0 or −FLT_MAX). The same kernels, in the same order, as `forward(mode: .eval)`.
    func inferenceForward(_ x: Tensor, batch b: Int, length t: Int, keyBias: [Float]) -> Tensor {
        let n = b * t, d = dim
        precondition(x.shape == [n, d], "TransformerLayer: input \(x.shape), expected [\(n), \(d)]")
        let q = Self.apply(query, x), k = Self.apply(key, x), v = Self.apply(value, x)
        let shape = AttentionShape(batch: b, length: t, heads: heads, headDim: headDim)
        var probs = [Float](unsafeUninitializedCapacity: shape.probsCount) { _, c in c = shape.probsCount }
        var ctx = Tensor(uninitializedShape: [n, d])
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        probs.withUnsafeMutableBufferPointer { pp in ctx.data.withUnsafeMutableBufferPointer { po in keyBias.withUnsafeBufferPointer { kb in
            AttentionKernels.forward(q: pq.baseAddress!, k: pk.baseAddress!, v: pv.baseAddress!, ld: d, keyBias: kb.baseAddress!,
                                     dropMask: nil, probs: pp.baseAddress!, out: po.baseAddress!, ldo: d, shape: shape)
        } } } } } }
        return block(ctx: ctx, residual: x)
    }

    /// The block's output at the [CLS] rows only: x [B*T, D] -> [B, D]. Keys and values of every
    /// token; query, attention, projections, LayerNorms and feed-forward of row 0 of each sequence.
    func inferenceCLS(_ x: Tensor, batch b: Int, length t: Int, keyBias: [Float]) -> Tensor {
        let d = dim, hd = headDim
        precondition(x.shape == [b * t, d], "TransformerLayer: input \(x.shape), expected [\(b * t), \(d)]")
        let xc = Self.clsRows(x, batch: b, length: t)           // [B, D]
        let q = Self.apply(query, xc)                            // [B, D]
        let k = Self.apply(key, x), v = Self.apply(value, x)     // [B*T, D]
        var ctx = Tensor(uninitializedShape: [b, d])
        let scale = 1 / Float(hd).squareRoot()
        q.data.withUnsafeBufferPointer { pq in k.data.withUnsafeBufferPointer { pk in v.data.withUnsafeBufferPointer { pv in
        ctx.data.withUnsafeMutableBufferPointer { po in keyBias.withUnsafeBufferPointer { kb in
            let (q0, k0, v0, o0, kb0) = (pq.baseAddress!, pk.baseAddress!, pv.baseAddress!, po.baseAddress!, kb.baseAddress!)
            withBLASThreads(1) {
                parallelChunks(b * heads) { _, range in
                    let s = UnsafeMutablePointer<Float>.allocate(capacity: t)
                    defer { s.deallocate() }
                    for bh in range {
                        let (bi, h) = (bh / heads, bh % heads)
                        let kv = bi * t * d + h * hd, qo = bi * d + h * hd
                        // s [1, T] = scale · q_cls K_bᵀ + keyBias_b; softmax; ctx_cls [1, hd] = s V_b
                        sgemm(transB: true, m: 1, n: t, k: hd, alpha: scale, a: q0 + qo, lda: d, b: k0 + kv, ldb: d, c: s)
                        AttentionKernels.softmaxRowsBiased(s, rows: 1, cols: t, bias: kb0 + bi * t)
                        sgemm(m: 1, n: hd, k: t, a: s, b: v0 + kv, ldb: d, c: o0 + qo, ldc: d)
                    }
                }
            }
        } } } } }
        return block(ctx: ctx, residual: xc)
    }

    /// After attention: LN1(ctx·Woᵀ + bo + residual), then LN2(FFN(a) + a); rows of ctx [M, D].
    private func block(ctx: Tensor, residual: Tensor) -> Tensor {
        let a = Self.normalize(attentionNorm, Self.apply(attentionOut, ctx), residual: residual)
        var f = Self.apply(ffnIn, a)
        f.data.withUnsafeMutableBufferPointer { p in VectorMath.geluForward(p.baseAddress!, count: p.count) }
        return Self.normalize(outputNorm, Self.apply(ffnOut, f), residual: a)
    }

    /// y = x Wᵀ + b [M, out] exactly as `Linear.forward` computes it, without caching x.
    static func apply(_ l: Linear, _ x: Tensor) -> Tensor {
        let m = x.count / l.inFeatures, o = l.outFeatures
        var y = Tensor(uninitializedShape: [m, o])
        x.data.withUnsafeBufferPointer { px in l.weight.value.data.withUnsafeBufferPointer { pw in
        y.data.withUnsafeMutableBufferPointer { py in
            if let bias = l.bias {
                bias.value.data.withUnsafeBufferPointer { pb in
                    for r in 0..<m { (py.baseAddress! + r * o).update(from: pb.baseAddress!, count: o) }
                }
            }
            sgemm(transB: true, m: m, n: o, k: l.inFeatures, a: px.baseAddress!, b: pw.baseAddress!,
                  beta: l.bias == nil ? 0 : 1, c: py.baseAddress!)
        } } }
        return y
    }

    /// LayerNorm(x + residual) [M, D] with `LayerNorm.forward`'s kernel, without caching.
    static func normalize(_ norm: LayerNorm, _ x: Tensor, residual: Tensor) -> Tensor {
        let rows = x.count / norm.dim
        var y = Tensor(uninitializedShape: x.shape)
        var xhat = [Float](unsafeUninitializedCapacity: x.count) { _, c in c = x.count }
        var invStd = [Float](repeating: 0, count: rows)
        x.data.withUnsafeBufferPointer { px in residual.data.withUnsafeBufferPointer { pr in
        y.data.withUnsafeMutableBufferPointer { py in xhat.withUnsafeMutableBufferPointer { ph in
        invStd.withUnsafeMutableBufferPointer { pi in
        norm.weight.value.data.withUnsafeBufferPointer { pw in norm.bias.value.data.withUnsafeBufferPointer { pb in
            LayerNormKernels.forward(x: px.baseAddress!, residual: pr.baseAddress!, rows: rows, dim: norm.dim, eps: norm.eps,
                                     gamma: pw.baseAddress!, beta: pb.baseAddress!,
                                     xhat: ph.baseAddress!, invStd: pi.baseAddress!, y: py.baseAddress!)
        } } } } } } }
        return y
    }

    /// Rows 0, T, 2T, ... of x [B*T, D] -> [B, D].
    static func clsRows(_ x: Tensor, batch b: Int, length t: Int) -> Tensor {
        let d = x.count / (b * t)
        var out = Tensor(uninitializedShape: [b, d])
        x.data.withUnsafeBufferPointer { px in out.data.withUnsafeMutableBufferPointer { po in
            for i in 0..<b { (po.baseAddress! + i * d).update(from: px.baseAddress! + i * t * d, count: d) }
        } }
        return out
    }
}
