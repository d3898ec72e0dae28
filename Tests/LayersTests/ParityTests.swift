import XCTest
import Tensors
import Layers

/// PyTorch parity: every layer's output and input/parameter gradients against the fixtures written
/// by Tests/Fixtures/layers.py. Tolerance: max |swift − torch| / max(1, max |torch|) < 1e-4.
final class ParityTests: XCTestCase {
    let tol: Float = 1e-4

    func close(_ a: Tensor, _ b: Tensor, _ what: String, tol: Float? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
        let e = relErr(a, b)
        XCTAssertLessThan(e, tol ?? self.tol, "\(what): max rel diff \(e)", file: file, line: line)
    }

    func testLinear() throws {
        for name in ["linear", "linear_nobias"] {
            let f = try Fixture(name)
            var rng = SeededGenerator(seed: 0)
            let hasBias = f.tensors["bias"] != nil
            let l = Linear(inFeatures: 5, outFeatures: 4, bias: hasBias, rng: &rng)
            l.weight.value = try f["weight"]
            if hasBias { l.bias!.value = try f["bias"] }
            close(l.forward(try f["x"]), try f["y"], "\(name) y")
            close(l.backward(try f["dy"]), try f["dx"], "\(name) dx")
            close(l.weight.grad, try f["dweight"], "\(name) dweight")
            if hasBias { close(l.bias!.grad, try f["dbias"], "\(name) dbias") }
        }
    }

    func testConv2d() throws {
        for name in ["conv_k3s1p1_bias", "conv_k3s2p1", "conv_k7s2p3", "conv_k1s2p0_bias", "conv_k1s1p0"] {
            let f = try Fixture(name)
            let w = try f["weight"], cfg = try f["config"]
            let hasBias = f.tensors["bias"] != nil
            var rng = SeededGenerator(seed: 0)
            let conv = Conv2d(inChannels: w.shape[1], outChannels: w.shape[0], kernelSize: w.shape[2],
                              stride: Int(cfg.data[0]), padding: Int(cfg.data[1]), bias: hasBias, rng: &rng)
            conv.weight.value = w
            if hasBias { conv.bias!.value = try f["bias"] }
            close(conv.forward(try f["x"]), try f["y"], "\(name) y")
            close(conv.backward(try f["dy"]), try f["dx"], "\(name) dx")
            close(conv.weight.grad, try f["dweight"], "\(name) dweight")
            if hasBias { close(conv.bias!.grad, try f["dbias"], "\(name) dbias") }
        }
    }

    func testBatchNorm() throws {
        for name in ["batchnorm2d", "batchnorm1d"] {
            for mode in [Mode.train, .eval] {
                let label = "\(name) \(mode)"
                let f = try Fixture("\(name)_\(mode == .train ? "train" : "eval")")
                let x = try f["x"]
                let bn = BatchNorm(numFeatures: x.shape[1], eps: try f["eps"].data[0])
                bn.weight.value = try f["weight"]; bn.bias.value = try f["bias"]
                bn.runningMean.value = try f["running_mean"]; bn.runningVar.value = try f["running_var"]
                bn.numBatchesTracked.value = Tensor(scalar: 3)
                close(bn.forward(x, mode: mode), try f["y"], "\(label) y")
                close(bn.backward(try f["dy"]), try f["dx"], "\(label) dx")
                close(bn.weight.grad, try f["dweight"], "\(label) dweight")
                close(bn.bias.grad, try f["dbias"], "\(label) dbias")
                close(bn.runningMean.value, try f["running_mean_after"], "\(label) running_mean")
                close(bn.runningVar.value, try f["running_var_after"], "\(label) running_var")
                XCTAssertEqual(bn.numBatchesTracked.value, try f["num_batches_tracked_after"], "\(label) num_batches_tracked")
                XCTAssertEqual(bn.numBatchesTracked.value.shape, [], "\(label) num_batches_tracked is a scalar")
            }
        }
    }

    func testElementwiseAndSoftmax() throws {
        let cases: [(String, (Tensor) -> Tensor, (Tensor) -> Tensor)] = {
            let relu = ReLU(), tanh = Tanh(), gelu = GELU(), softmax = Softmax()
            return [("relu", relu.forward, relu.backward), ("tanh", tanh.forward, tanh.backward),
                    ("gelu", gelu.forward, gelu.backward), ("softmax", softmax.forward, softmax.backward)]
        }()
        for (name, fwd, bwd) in cases {
            let f = try Fixture(name)
            close(fwd(try f["x"]), try f["y"], "\(name) y")
            close(bwd(try f["dy"]), try f["dx"], "\(name) dx")
        }
    }

    func testPooling() throws {
        for name in ["maxpool_k3s2p1", "maxpool_k2s2p0", "maxpool_k3s1p1"] {
            let f = try Fixture(name)
            let cfg = try f["config"].data.map { Int($0) }
            let pool = MaxPool2d(kernelSize: cfg[0], stride: cfg[1], padding: cfg[2])
            close(pool.forward(try f["x"]), try f["y"], "\(name) y")
            close(pool.backward(try f["dy"]), try f["dx"], "\(name) dx")
        }
        let f = try Fixture("avgpool")
        let pool = AdaptiveAvgPool2d()
        close(pool.forward(try f["x"]), try f["y"], "avgpool y")
        close(pool.backward(try f["dy"]), try f["dx"], "avgpool dx")
    }

    func testEmbedding() throws {
        let f = try Fixture("embedding")
        let ids = try f["ids"]
        var rng = SeededGenerator(seed: 0)
        let emb = Embedding(numEmbeddings: 7, dim: 3, rng: &rng)
        emb.weight.value = try f["weight"]
        close(emb.forward(ids: ids.data.map { Int32($0) }, shape: ids.shape), try f["y"], "embedding y")
        emb.backward(try f["dy"])
        close(emb.weight.grad, try f["dweight"], "embedding dweight")
    }

    func testLayerNorm() throws {
        for name in ["layernorm", "layernorm_bert"] {
            let f = try Fixture(name)
            let ln = LayerNorm(dim: 8, eps: try f["config"].data[0])
            ln.weight.value = try f["weight"]; ln.bias.value = try f["bias"]
            close(ln.forward(try f["x"]), try f["y"], "\(name) y")
            close(ln.backward(try f["dy"]), try f["dx"], "\(name) dx")
            close(ln.weight.grad, try f["dweight"], "\(name) dweight")
            close(ln.bias.grad, try f["dbias"], "\(name) dbias")
        }
    }

    func testScaledDotProductAttention() throws {
        let f = try Fixture("sdpa")
        let attn = ScaledDotProductAttention(heads: 2)
        close(attn.forward(q: try f["q"], k: try f["k"], v: try f["v"], mask: try f["mask"], mode: .eval), try f["y"], "sdpa y")
        let (dq, dk, dv) = attn.backward(try f["dy"])
        close(dq, try f["dq"], "sdpa dq"); close(dk, try f["dk"], "sdpa dk"); close(dv, try f["dv"], "sdpa dv")
    }

    func testMultiHeadSelfAttention() throws {
        let f = try Fixture("mhsa")
        for names in [AttentionNames.bert, .distilbert] {
            var rng = SeededGenerator(seed: 0)
            let m = MultiHeadSelfAttention(dim: 8, heads: 2, names: names, rng: &rng)
            let linears = [("q", m.query), ("k", m.key), ("v", m.value), ("o", m.output)]
            for (p, l) in linears { l.weight.value = try f[p + "w"]; l.bias!.value = try f[p + "b"] }
            close(m.forward(try f["x"], mask: try f["mask"], mode: .eval), try f["y"], "mhsa y")
            close(m.backward(try f["dy"]), try f["dx"], "mhsa dx")
            for (p, l) in linears {
                close(l.weight.grad, try f["d" + p + "w"], "mhsa d\(p)w")
                close(l.bias!.grad, try f["d" + p + "b"], "mhsa d\(p)b")
            }
            let keys = Set(m.stateDict().keys)
            let expected = [names.query, names.key, names.value, names.output].flatMap { [$0 + ".weight", $0 + ".bias"] }
            XCTAssertEqual(keys, Set(expected))
        }
    }

    func testLosses() throws {
        let ce = try Fixture("cross_entropy")
        let (l1, d1) = softmaxCrossEntropy(logits: try ce["logits"], labels: try ce["labels"].data.map { Int($0) })
        XCTAssertEqual(l1, try ce["loss"].data[0], accuracy: 1e-5 * max(1, abs(l1)), "cross-entropy loss")
        close(d1, try ce["dlogits"], "cross-entropy dlogits", tol: 1e-6)
        let bce = try Fixture("bce_with_logits")
        let logits = try bce["logits"]
        let (l2, d2) = sigmoidBinaryCrossEntropyWithLogits(logits: logits, targets: try bce["targets"].data)
        XCTAssertEqual(l2, try bce["loss"].data[0], accuracy: 1e-5 * max(1, abs(l2)), "BCE loss")
        close(d2, try bce["dlogits"], "BCE dlogits", tol: 1e-6)
        // [N, 1] logits give the same loss and a [N, 1] gradient.
        let (l3, d3) = sigmoidBinaryCrossEntropyWithLogits(logits: logits.reshaped([6, 1]), targets: try bce["targets"].data)
        XCTAssertEqual(l3, l2)
        XCTAssertEqual(d3.shape, [6, 1])
    }
}
