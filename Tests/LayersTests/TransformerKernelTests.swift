import Foundation
import XCTest
import Tensors
import Layers

/// The fast transformer kernels (VectorMath, AttentionKernels, LayerNormKernels, Linear's
/// accumulating backward) against their plain references, on odd sizes so vector tails run too.
final class TransformerKernelTests: XCTestCase {
    func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    func testExpAndErfMatchLibm() {
        let xs = stride(from: -90.0, through: 88.0, by: 0.0137).map { Float($0) }
        for chunk in stride(from: 0, to: xs.count - 8, by: 8) {
            let v = VectorMath.V((0..<8).map { xs[chunk + $0] })
            let e = VectorMath.exp(v), r = VectorMath.erf(v / 8)
            for i in 0..<8 {
                let x = Double(xs[chunk + i])
                let want = Foundation.exp(x)
                if x < -87.3 { XCTAssertEqual(e[i], 0, "exp(\(x))") } else {
                    XCTAssertLessThan(abs(Double(e[i]) - want) / want, 4e-7, "exp(\(x)) = \(e[i]), libm \(want)")
                }
                XCTAssertLessThan(abs(Double(r[i]) - Foundation.erf(x / 8)), 5e-7, "erf(\(x / 8))")
            }
        }
        XCTAssertTrue(VectorMath.exp(VectorMath.V(repeating: .nan))[0].isNaN)
    }

    func testGELUKernelsMatchReference() {
        var rng = SeededGenerator(seed: 5)
        let n = 16_411   // odd: the scalar tail runs too; > minChunk: two threads
        var x = Tensor.normal([n], std: 3, rng: &rng).data
        x[0] = 0; x[1] = -12; x[2] = 12
        let dOut = Tensor.normal([n], rng: &rng).data
        var y = x, d = dOut
        y.withUnsafeMutableBufferPointer { VectorMath.geluForward($0.baseAddress!, count: n) }
        x.withUnsafeBufferPointer { px in d.withUnsafeMutableBufferPointer { VectorMath.geluBackward(x: px.baseAddress!, $0.baseAddress!, count: n) } }
        let yRef = x.map { Float(VectorMath.referenceGELU(Double($0))) }
        let dRef = (0..<n).map { Float(Double(dOut[$0]) * VectorMath.referenceGELUDerivative(Double(x[$0]))) }
        XCTAssertLessThan(maxAbs(y, yRef), 5e-6)
        let layerY = GELU().forward(Tensor(shape: [n], data: x)).data   // out of place: equal to in place
        XCTAssertEqual(layerY, y)
        XCTAssertLessThan(maxAbs(d, dRef), 5e-6)
        XCTAssertEqual(y[0], 0); XCTAssertEqual(y[1], 0, accuracy: 1e-20); XCTAssertEqual(y[2], 12)
    }

    /// Q, K, V packed in one [B·T, 3D] block (ld = 3D) like a fused projection; dQKV likewise.
    func testAttentionKernelsMatchReference() {
        for (b, t, heads, hd, dropout) in [(2, 7, 3, 5, false), (3, 16, 2, 8, true)] {
            let d = heads * hd, n = b * t
            let shape = AttentionShape(batch: b, length: t, heads: heads, headDim: hd)
            var rng = SeededGenerator(seed: UInt64(t))
            let qkv = Tensor.normal([n, 3 * d], rng: &rng).data
            func column(_ a: [Float], _ part: Int) -> [Float] {
                var out: [Float] = []
                for r in 0..<n {
                    let lo: Int = r * 3 * d + part * d
                    out.append(contentsOf: a[lo..<(lo + d)])
                }
                return out
            }
            let (q, k, v) = (column(qkv, 0), column(qkv, 1), column(qkv, 2))
            var bias = [Float](repeating: 0, count: b * t)
            for i in 0..<b { for j in (t - i)..<t { bias[i * t + j] = -Float.greatestFiniteMagnitude } }
            var mask: [Float]? = nil
            if dropout {
                let keep: Float = 1 / 0.7
                var m = [Float](repeating: keep, count: shape.probsCount)
                for i in 0..<m.count where rng.nextFloat() < 0.3 { m[i] = 0 }
                mask = m
            }
            let dOut = Tensor.normal([n, d], rng: &rng).data
            let ref = AttentionReference.forward(q: q, k: k, v: v, keyBias: bias, dropMask: mask, shape: shape)
            let refGrad = AttentionReference.backward(dOut: dOut, q: q, k: k, v: v, probs: ref.probs, dropMask: mask, shape: shape)

            var probs = [Float](repeating: 0, count: shape.probsCount), out = [Float](repeating: 0, count: n * d)
            var dqkv = [Float](repeating: 0, count: n * 3 * d)
            qkv.withUnsafeBufferPointer { p in
                let base = p.baseAddress!
                withOptionalPointer(mask) { m in bias.withUnsafeBufferPointer { kb in
                    probs.withUnsafeMutableBufferPointer { pp in out.withUnsafeMutableBufferPointer { po in
                        AttentionKernels.forward(q: base, k: base + d, v: base + 2 * d, ld: 3 * d, keyBias: kb.baseAddress!, dropMask: m,
                                                 probs: pp.baseAddress!, out: po.baseAddress!, ldo: d, shape: shape)
                    } }
                    probs.withUnsafeBufferPointer { pp in dOut.withUnsafeBufferPointer { pd in dqkv.withUnsafeMutableBufferPointer { pg in
                        let g = pg.baseAddress!
                        AttentionKernels.backward(dOut: pd.baseAddress!, ldo: d, q: base, k: base + d, v: base + 2 * d, ld: 3 * d,
                                                  probs: pp.baseAddress!, dropMask: m, dq: g, dk: g + d, dv: g + 2 * d, ldd: 3 * d, shape: shape)
                    } } }
                } }
            }
            let label = "B\(b) T\(t) H\(heads) hd\(hd) dropout \(dropout)"
            XCTAssertLessThan(maxAbs(probs, ref.probs), 1e-6, "probs \(label)")
            XCTAssertLessThan(maxAbs(out, ref.out), 1e-5, "out \(label)")
            XCTAssertLessThan(maxAbs(column(dqkv, 0), refGrad.dq), 1e-5, "dq \(label)")
            XCTAssertLessThan(maxAbs(column(dqkv, 1), refGrad.dk), 1e-5, "dk \(label)")
            XCTAssertLessThan(maxAbs(column(dqkv, 2), refGrad.dv), 1e-5, "dv \(label)")
            // masked keys get no probability
            XCTAssertEqual(probs[((b - 1) * heads) * t * t + t - 1], 0)
        }
    }

    func testLayerNormKernelsMatchReference() {
        var rng = SeededGenerator(seed: 8)
        for (rows, dim, residual) in [(67, 21, true), (5, 768, false), (130, 40, true)] {
            let x = Tensor.normal([rows, dim], mean: 0.5, std: 2, rng: &rng)
            let r = Tensor.normal([rows, dim], rng: &rng)
            let ln = LayerNorm(dim: dim, eps: 1e-12)
            ln.weight.value = Tensor.normal([dim], rng: &rng); ln.bias.value = Tensor.normal([dim], rng: &rng)
            let dOut = Tensor.normal([rows, dim], rng: &rng)
            let y = residual ? ln.forward(x, residual: r) : ln.forward(x)
            ln.weight.grad.data[0] = 1; ln.bias.grad.data[0] = 1   // gradients accumulate
            let dx = ln.backward(dOut)
            let ref = LayerNormKernels.referenceForward(x: x.data, residual: residual ? r.data : nil, dim: dim, eps: 1e-12,
                                                        gamma: ln.weight.value.data, beta: ln.bias.value.data)
            let refB = LayerNormKernels.referenceBackward(dOut: dOut.data, xhat: ref.xhat, invStd: ref.invStd,
                                                          gamma: ln.weight.value.data, dim: dim)
            let label = "rows \(rows) dim \(dim) residual \(residual)"
            XCTAssertLessThan(maxAbs(y.data, ref.y), 2e-5, "y \(label)")
            XCTAssertLessThan(maxAbs(dx.data, refB.dx), 2e-5, "dx \(label)")
            var dg = refB.dGamma, db = refB.dBeta
            dg[0] += 1; db[0] += 1
            XCTAssertLessThan(maxAbs(ln.weight.grad.data, dg), 1e-4, "dgamma \(label)")
            XCTAssertLessThan(maxAbs(ln.bias.grad.data, db), 1e-4, "dbeta \(label)")
        }
        // a frozen LayerNorm leaves its gradients alone
        let ln = LayerNorm(dim: 9)
        ln.setFrozen(true)
        _ = ln.forward(Tensor.normal([3, 9], rng: &rng))
        _ = ln.backward(Tensor.normal([3, 9], rng: &rng))
        XCTAssertEqual(ln.weight.grad.data, [Float](repeating: 0, count: 9))
        XCTAssertEqual(ln.bias.grad.data, [Float](repeating: 0, count: 9))
    }

    func testLinearAccumulatingBackwardEqualsSum() {
        var rng = SeededGenerator(seed: 3)
        let a = Linear(inFeatures: 6, outFeatures: 5, rng: &rng), b = Linear(inFeatures: 6, outFeatures: 5, rng: &rng)
        b.weight.value = a.weight.value; b.bias!.value = a.bias!.value
        let x = Tensor.normal([4, 6], rng: &rng), start = Tensor.normal([4, 6], rng: &rng)
        let d = Tensor.normal([4, 5], rng: &rng)
        _ = a.forward(x); _ = b.forward(x)
        var sum = start
        a.backward(d, addingInputGradientTo: &sum)
        let plain = b.backward(d)
        for i in 0..<sum.count { XCTAssertEqual(sum.data[i], start.data[i] + plain.data[i], accuracy: 1e-5) }
        XCTAssertEqual(a.weight.grad, b.weight.grad)
        XCTAssertEqual(a.bias!.grad, b.bias!.grad)
    }
}
