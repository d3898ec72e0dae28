import XCTest
import Tensors
import Layers

/// BatchNorm's fused forward (BN + residual + ReLU in one pass) and its backward equal the separate
/// layers (BatchNorm, `add`, ReLU) on odd shapes, in train and eval mode, for x, residual, γ and β.
final class FusedBatchNormTests: XCTestCase {
    func makeBN(_ c: Int, rng: inout SeededGenerator) -> BatchNorm {
        let bn = BatchNorm(numFeatures: c)
        bn.weight.value = Tensor.normal([c], rng: &rng); bn.bias.value = Tensor.normal([c], rng: &rng)
        bn.runningMean.value = Tensor.normal([c], std: 0.3, rng: &rng)
        bn.runningVar.value = Tensor.uniform([c], low: 0.5, high: 2, rng: &rng)
        return bn
    }

    func testFusedEqualsSeparateLayers() {
        for shape in [[3, 5, 3, 7], [5, 3], [2, 4, 1, 1]] {
            for mode in [Mode.train, .eval] {
                for (useResidual, relu) in [(false, true), (true, true), (true, false)] {
                    let label = "\(shape) \(mode) residual \(useResidual) relu \(relu)"
                    var rng = SeededGenerator(seed: UInt64(shape.reduce(0, +)))
                    var rng2 = rng
                    let fused = makeBN(shape[1], rng: &rng), plain = makeBN(shape[1], rng: &rng2)
                    let x = Tensor.normal(shape, rng: &rng), r = Tensor.normal(shape, rng: &rng)
                    let dy = Tensor.normal(shape, rng: &rng)
                    // separate layers
                    let reluLayer = ReLU()
                    var yRef = plain.forward(x, mode: mode)
                    if useResidual { yRef = add(yRef, r) }
                    if relu { yRef = reluLayer.forward(yRef) }
                    let dPre = relu ? reluLayer.backward(dy) : dy
                    let dxRef = plain.backward(dPre)
                    // fused
                    let y = fused.forward(x, mode: mode, residual: useResidual ? r : nil, relu: relu)
                    let (dx, dRes) = fused.backwardFused(dy)
                    XCTAssertLessThan(y.maxAbsDifference(yRef), 1e-6, "forward \(label)")
                    XCTAssertLessThan(dx.maxAbsDifference(dxRef), 1e-5, "dx \(label)")
                    if useResidual {
                        XCTAssertNotNil(dRes, label)
                        if let dRes { XCTAssertLessThan(dRes.maxAbsDifference(dPre), 1e-6, "dResidual \(label)") }
                    } else {
                        XCTAssertNil(dRes, label)
                    }
                    XCTAssertLessThan(fused.weight.grad.maxAbsDifference(plain.weight.grad), 1e-4, "dγ \(label)")
                    XCTAssertLessThan(fused.bias.grad.maxAbsDifference(plain.bias.grad), 1e-4, "dβ \(label)")
                    XCTAssertEqual(fused.runningMean.value, plain.runningMean.value, "running mean \(label)")
                    XCTAssertEqual(fused.runningVar.value, plain.runningVar.value, "running var \(label)")
                }
            }
        }
    }
}
