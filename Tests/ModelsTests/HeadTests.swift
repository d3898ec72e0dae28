import Layers
import Models
import Tensors
import XCTest

final class HeadTests: XCTestCase {
    func testMLPHeadKeysAndCount() {
        var rng = SeededGenerator(seed: 2)
        let h = MLPHead(inFeatures: 512, hidden: 32, outputs: 10, rng: &rng)
        XCTAssertEqual(h.namedParameters().map(\.0), ["fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight", "fc2.bias"])
        XCTAssertEqual(h.namedBuffers().map(\.0), ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"])
        XCTAssertEqual(h.parameterCount, 512 * 32 + 32 + 64 + 32 * 10 + 10)
        XCTAssertEqual(h.parameterCount, h.shape.cost.parameters)
        // BERT-style sigmoid SideNet overhead quoted in the paper: 768x32 + 32x1 (+ biases, BN)
        XCTAssertEqual(MLPHeadShape(inFeatures: 768, outputs: 1).cost.parameters, 768 * 32 + 32 + 64 + 32 + 1)
    }

    /// Backward of the head checked by central finite differences (train mode, batch statistics).
    func testMLPHeadGradientFiniteDifferences() {
        var rng = SeededGenerator(seed: 4)
        let h = MLPHead(inFeatures: 6, hidden: 5, outputs: 3, rng: &rng)
        h.bn.runningMean.value = Tensor.normal([5], std: 0.1, rng: &rng)
        h.bn.weight.value = Tensor.uniform([5], low: 0.5, high: 1.5, rng: &rng)
        let x = Tensor.normal([4, 2, 3], rng: &rng)
        let w = Tensor.normal([4, 3], rng: &rng)   // loss = sum(w * logits)
        func loss(_ x: Tensor) -> Double {
            let y = h.forward(x, mode: .train)
            return zip(y.data, w.data).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        h.zeroGrad()
        _ = h.forward(x, mode: .train)
        let dx = h.backward(w)
        XCTAssertEqual(dx.shape, x.shape)
        let eps: Float = 1e-2
        var maxErr: Double = 0
        for i in 0..<x.count {
            var xp = x, xm = x
            xp.data[i] += eps; xm.data[i] -= eps
            let num = (loss(xp) - loss(xm)) / Double(2 * eps)
            maxErr = max(maxErr, abs(num - Double(dx.data[i])))
        }
        // relative to the largest |dx| (floor 1e-2), not absolute: dx entries are ~0.1, where an
        // absolute 2e-2 would let a wrong sign on the smaller ones through
        let scale = max(1e-2, dx.data.map { abs(Double($0)) }.max() ?? 0)
        XCTAssertLessThan(maxErr / scale, 2e-2, "dx vs finite differences, max error \(maxErr), scale \(scale)")
        let g = h.fc1.weight.grad
        for i in [0, 7, 29] {
            let orig = h.fc1.weight.value.data[i]
            h.fc1.weight.value.data[i] = orig + eps; let lp = loss(x)
            h.fc1.weight.value.data[i] = orig - eps; let lm = loss(x)
            h.fc1.weight.value.data[i] = orig
            let numeric = (lp - lm) / Double(2 * eps)
            XCTAssertGreaterThan(abs(numeric), 1e-3, "dfc1.weight[\(i)] is ~0: the check compares nothing")
            XCTAssertEqual(Double(g.data[i]), numeric, accuracy: 2e-2 * max(abs(numeric), 1e-2), "dfc1.weight[\(i)]")
        }
    }
}
