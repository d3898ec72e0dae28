import XCTest
import Tensors
import Layers

/// Initialisations and dropout statistics (PyTorch semantics).
final class InitAndDropoutTests: XCTestCase {
    func testDropoutIsIdentityInEvalAndInvertedInTrain() {
        var rng = SeededGenerator(seed: 1)
        let x = Tensor.uniform([20000], low: 1, high: 2, rng: &rng)
        let d = Dropout(p: 0.25, seed: 9)
        XCTAssertEqual(d.forward(x, mode: .eval), x)
        let y = d.forward(x, mode: .train)
        var zeros = 0
        for i in 0..<y.count {
            if y.data[i] == 0 { zeros += 1 } else { XCTAssertEqual(y.data[i], x.data[i] / 0.75, accuracy: 1e-5) }
        }
        let frac = Double(zeros) / Double(y.count)
        XCTAssertEqual(frac, 0.25, accuracy: 0.015, "dropped fraction \(frac)")
        // Same seed, same mask; the layer's generator advances between calls.
        XCTAssertEqual(Dropout(p: 0.25, seed: 9).forward(x, mode: .train), y)
        XCTAssertNotEqual(d.forward(x, mode: .train), y)
    }

    func testInitialisationBoundsAndScales() {
        var rng = SeededGenerator(seed: 2)
        let l = Linear(inFeatures: 64, outFeatures: 32, rng: &rng)
        let bound: Float = 1 / 8
        XCTAssertLessThanOrEqual(l.weight.value.data.map { abs($0) }.max()!, bound)
        XCTAssertGreaterThan(l.weight.value.data.map { abs($0) }.max()!, 0.9 * bound)
        XCTAssertLessThanOrEqual(l.bias!.value.data.map { abs($0) }.max()!, bound)
        let c = Conv2d(inChannels: 16, outChannels: 64, kernelSize: 3, bias: false, initialization: .kaimingNormalFanOutReLU, rng: &rng)
        let w = c.weight.value.data
        let std = (w.reduce(0) { $0 + Double($1) * Double($1) } / Double(w.count)).squareRoot()
        XCTAssertEqual(std, (2.0 / 576).squareRoot(), accuracy: 0.003, "kaiming_normal fan_out std \(std)")
        XCTAssertNil(c.bias)
        XCTAssertEqual(Set(c.stateDict().keys), ["weight"])
        let bn = BatchNorm(numFeatures: 4)
        XCTAssertEqual(Set(bn.stateDict().keys), ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        XCTAssertEqual(bn.parameterCount, 8)
    }
}
