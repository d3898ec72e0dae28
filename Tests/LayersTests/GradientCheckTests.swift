import XCTest
import Tensors
import Layers

/// Finite-difference checks of every backward on tiny shapes. The scalar checked is
/// L = Σ r·y for a fixed random projection r; numeric dL/dv = (L(v+ε) − L(v−ε)) / 2ε with L
/// accumulated in Double, ε = 1e-2 (Float32 forward). Tolerance: max |numeric − analytic| /
/// max(1e-2, max |analytic|) < 5e-3 for every input and parameter (relative to the tensor's largest
/// gradient, not to 1, so small gradients are checked too), and some |numeric| must exceed 1e-3 (a
/// check of zeros against zeros proves nothing).
final class GradientCheckTests: XCTestCase {
    final class Box { var t: Tensor; init(_ t: Tensor) { self.t = t } }

    /// A checked variable: read / write its value and read its analytic gradient after backward.
    struct Var {
        let name: String
        let get: () -> Tensor
        let set: (Tensor) -> Void
        let grad: () -> Tensor
    }

    static func input(_ name: String, _ box: Box, _ dBox: Box) -> Var {
        Var(name: name, get: { box.t }, set: { box.t = $0 }, grad: { dBox.t })
    }
    static func param(_ name: String, _ p: Parameter) -> Var {
        Var(name: name, get: { p.value }, set: { p.value = $0 }, grad: { p.grad })
    }

    func check(_ label: String, _ vars: [Var], run: () -> Tensor, backward: (Tensor) -> Void,
               eps: Float = 1e-2, tol: Double = 5e-3, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SeededGenerator(seed: 99)
        let y0 = run()
        let r = Tensor.normal(y0.shape, rng: &rng)
        func loss() -> Double {
            let y = run()
            var s = 0.0
            for i in 0..<y.count { s += Double(y.data[i]) * Double(r.data[i]) }
            return s
        }
        backward(r)
        for v in vars {
            let analytic = v.grad()
            let base = v.get()
            XCTAssertEqual(analytic.shape, base.shape, "\(label) \(v.name): gradient shape", file: file, line: line)
            guard analytic.shape == base.shape else { continue }
            var maxDiff = 0.0, scale = 1e-2, maxNumeric = 0.0
            for i in 0..<base.count {
                var t = base
                t.data[i] = base.data[i] + eps; v.set(t); let lp = loss()
                t.data[i] = base.data[i] - eps; v.set(t); let lm = loss()
                v.set(base)
                let numeric = (lp - lm) / (2 * Double(eps))
                maxDiff = max(maxDiff, abs(numeric - Double(analytic.data[i])))
                maxNumeric = max(maxNumeric, abs(numeric))
                scale = max(scale, abs(Double(analytic.data[i])))
            }
            XCTAssertLessThan(maxDiff / scale, tol, "\(label) \(v.name): max rel diff \(maxDiff / scale)", file: file, line: line)
            if v.name.hasSuffix("k_lin.bias") || v.name.hasSuffix("key.bias") {
                // softmax is invariant to the key bias (it adds q·b to a whole row of scores): exactly 0
                let maxAnalytic = analytic.data.map { abs(Double($0)) }.max() ?? 0
                XCTAssertLessThan(max(maxNumeric, maxAnalytic), 1e-4, "\(label) \(v.name): key-bias gradient must be 0", file: file, line: line)
            } else {
                XCTAssertGreaterThan(maxNumeric, 1e-3, "\(label) \(v.name): every finite difference is ~0", file: file, line: line)
            }
        }
    }

    func testLinear() {
        var rng = SeededGenerator(seed: 1)
        let l = Linear(inFeatures: 4, outFeatures: 3, rng: &rng)
        let x = Box(Tensor.normal([2, 2, 4], rng: &rng)), dx = Box(Tensor(zeros: [0]))
        check("Linear", [Self.input("x", x, dx), Self.param("weight", l.weight), Self.param("bias", l.bias!)],
              run: { l.forward(x.t) }, backward: { dx.t = l.backward($0) })
    }

    func testConv2d() {
        for (k, s, p, bias) in [(3, 2, 1, true), (1, 1, 0, false), (5, 2, 2, false), (3, 1, 1, true)] {
            var rng = SeededGenerator(seed: UInt64(k * 10 + s))
            let conv = Conv2d(inChannels: 2, outChannels: 3, kernelSize: k, stride: s, padding: p, bias: bias, rng: &rng)
            let x = Box(Tensor.normal([2, 2, 5, 4], rng: &rng)), dx = Box(Tensor(zeros: [0]))
            var vars = [Self.input("x", x, dx), Self.param("weight", conv.weight)]
            if let b = conv.bias { vars.append(Self.param("bias", b)) }
            check("Conv2d k\(k) s\(s) p\(p)", vars, run: { conv.forward(x.t) }, backward: { dx.t = conv.backward($0) })
        }
    }

    func testBatchNorm() {
        for (shape, mode) in [([4, 3, 2, 2], Mode.train), ([5, 3], Mode.train), ([3, 3, 2, 2], Mode.eval), ([4, 3], Mode.eval)] {
            var rng = SeededGenerator(seed: 5)
            let bn = BatchNorm(numFeatures: 3)
            bn.weight.value = Tensor.normal([3], rng: &rng); bn.bias.value = Tensor.normal([3], rng: &rng)
            bn.runningMean.value = Tensor.normal([3], std: 0.3, rng: &rng)
            bn.runningVar.value = Tensor.uniform([3], low: 0.5, high: 2, rng: &rng)
            let x = Box(Tensor.normal(shape, rng: &rng)), dx = Box(Tensor(zeros: [0]))
            check("BatchNorm \(shape) \(mode)", [Self.input("x", x, dx), Self.param("weight", bn.weight), Self.param("bias", bn.bias)],
                  run: { bn.forward(x.t, mode: mode) }, backward: { dx.t = bn.backward($0) })
        }
    }

    func testStatelessLayers() {
        var rng = SeededGenerator(seed: 7)
        let relu = ReLU(), tanh = Tanh(), gelu = GELU(), softmax = Softmax(), flatten = Flatten()
        let pool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1), pool2 = MaxPool2d(kernelSize: 2, stride: 1, padding: 1)
        let avg = AdaptiveAvgPool2d()
        let dropout = Dropout(p: 0.4, seed: 3)
        let cases: [(String, [Int], (Tensor) -> Tensor, (Tensor) -> Tensor)] = [
            ("ReLU", [3, 5], relu.forward, relu.backward),
            ("Tanh", [3, 5], tanh.forward, tanh.backward),
            ("GELU", [3, 5], gelu.forward, gelu.backward),
            ("Softmax", [2, 3, 4], softmax.forward, softmax.backward),
            ("Flatten", [2, 3, 2], flatten.forward, flatten.backward),
            ("MaxPool2d k3s2p1", [2, 2, 5, 6], pool.forward, pool.backward),
            ("MaxPool2d k2s1p1", [1, 2, 3, 3], pool2.forward, pool2.backward),
            ("AdaptiveAvgPool2d", [2, 3, 3, 2], avg.forward, avg.backward),
            ("Dropout train", [4, 5], { dropout.rng = SeededGenerator(seed: 3); return dropout.forward($0, mode: .train) }, dropout.backward),
        ]
        for (name, shape, fwd, bwd) in cases {
            let x = Box(Tensor.normal(shape, rng: &rng)), dx = Box(Tensor(zeros: [0]))
            check(name, [Self.input("x", x, dx)], run: { fwd(x.t) }, backward: { dx.t = bwd($0) })
        }
        let a = Box(Tensor.normal([2, 3], rng: &rng)), b = Box(Tensor.normal([2, 3], rng: &rng))
        let da = Box(Tensor(zeros: [0])), db = Box(Tensor(zeros: [0]))
        // y = add(a, b)·a so that the two gradients differ.
        check("add", [Self.input("a", a, da), Self.input("b", b, db)], run: {
            var y = Add().forward(a.t, b.t); for i in 0..<y.count { y.data[i] *= a.t.data[i] }; return y
        }, backward: { r in
            var dy = r; for i in 0..<dy.count { dy.data[i] *= a.t.data[i] }
            let (ga, gb) = Add().backward(dy)
            let s = add(a.t, b.t)
            var gaa = ga; for i in 0..<gaa.count { gaa.data[i] += r.data[i] * s.data[i] }
            da.t = gaa; db.t = gb
        })
    }

    func testEmbeddingAndLayerNorm() {
        var rng = SeededGenerator(seed: 11)
        let emb = Embedding(numEmbeddings: 5, dim: 3, rng: &rng)
        check("Embedding", [Self.param("weight", emb.weight)],
              run: { emb.forward(ids: [1, 3, 3, 0, 4, 1], shape: [2, 3]) }, backward: { emb.backward($0) })
        for eps: Float in [1e-5, 1e-12] {
            let ln = LayerNorm(dim: 6, eps: eps)
            ln.weight.value = Tensor.normal([6], rng: &rng); ln.bias.value = Tensor.normal([6], rng: &rng)
            let x = Box(Tensor.normal([2, 3, 6], rng: &rng)), dx = Box(Tensor(zeros: [0]))
            check("LayerNorm eps \(eps)", [Self.input("x", x, dx), Self.param("weight", ln.weight), Self.param("bias", ln.bias)],
                  run: { ln.forward(x.t) }, backward: { dx.t = ln.backward($0) })
        }
    }

    func testAttention() {
        var rng = SeededGenerator(seed: 13)
        let mask = Tensor(shape: [2, 4], data: [1, 1, 1, 1, 1, 1, 0, 0])
        for (p, mode) in [(Float(0), Mode.eval), (0.3, .train)] {
            let attn = ScaledDotProductAttention(heads: 2, dropout: p)
            let q = Box(Tensor.normal([2, 4, 6], rng: &rng)), k = Box(Tensor.normal([2, 4, 6], rng: &rng)), v = Box(Tensor.normal([2, 4, 6], rng: &rng))
            let dq = Box(Tensor(zeros: [0])), dk = Box(Tensor(zeros: [0])), dv = Box(Tensor(zeros: [0]))
            check("ScaledDotProductAttention dropout \(p)", [Self.input("q", q, dq), Self.input("k", k, dk), Self.input("v", v, dv)],
                  run: { attn.rng = SeededGenerator(seed: 4); return attn.forward(q: q.t, k: k.t, v: v.t, mask: mask, mode: mode) },
                  backward: { (dq.t, dk.t, dv.t) = attn.backward($0) })
        }
        let m = MultiHeadSelfAttention(dim: 6, heads: 3, names: .distilbert, rng: &rng)
        let x = Box(Tensor.normal([2, 4, 6], rng: &rng)), dx = Box(Tensor(zeros: [0]))
        let vars = [Self.input("x", x, dx)] + m.namedParameters().map { Self.param($0.0, $0.1) }
        check("MultiHeadSelfAttention", vars, run: { m.forward(x.t, mask: mask, mode: .eval) }, backward: { dx.t = m.backward($0) })
    }

    func testLosses() {
        var rng = SeededGenerator(seed: 17)
        let labels = [2, 0, 1]
        let logits = Box(Tensor.normal([3, 4], std: 2, rng: &rng)), d1 = Box(Tensor(zeros: [0]))
        // L = r·loss with r = the 1-element projection: dL/dlogits = r·dLogits.
        check("softmaxCrossEntropy", [Self.input("logits", logits, d1)],
              run: { Tensor(shape: [1], data: [softmaxCrossEntropy(logits: logits.t, labels: labels).loss]) },
              backward: { r in var d = softmaxCrossEntropy(logits: logits.t, labels: labels).dLogits
                  for i in 0..<d.count { d.data[i] *= r.data[0] }; d1.t = d })
        let targets: [Float] = [1, 0, 0.3, 1, 0]
        let z = Box(Tensor(shape: [5, 1], data: [0.4, -1.5, 2.2, -0.1, 6])), d2 = Box(Tensor(zeros: [0]))
        check("sigmoidBinaryCrossEntropyWithLogits", [Self.input("logits", z, d2)],
              run: { Tensor(shape: [1], data: [sigmoidBinaryCrossEntropyWithLogits(logits: z.t, targets: targets).loss]) },
              backward: { r in var d = sigmoidBinaryCrossEntropyWithLogits(logits: z.t, targets: targets).dLogits
                  for i in 0..<d.count { d.data[i] *= r.data[0] }; d2.t = d })
    }
}
