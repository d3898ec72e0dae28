import Layers
import Tensors
import XCTest

/// Conv2d.forwardFoldingBatchNorm (BatchNorm folded into the weights, bias + residual + ReLU in the
/// convolution's epilogue) against the layers in turn (Conv2d.forward, then
/// BatchNorm.forward(residual:relu:) in eval mode) on every kernel path: 1x1 as one GEMM per image
/// (16x16 maps), 1x1 stride 2, 3x3 by Winograd (8x8), 3x3 stride 2 by im2col, 3x3 tap classes on 2x2
/// and 1x1 maps, with and without a convolution bias. Tolerance 1e-5 + 1e-5 x max|reference|.
final class ConvBatchNormFoldTests: XCTestCase {
    func testFoldedEqualsLayers() {
        let cases: [(c: Int, o: Int, k: Int, s: Int, hw: Int)] = [
            (5, 7, 1, 1, 16), (6, 5, 1, 2, 8), (4, 6, 3, 1, 8), (5, 3, 3, 2, 9), (7, 6, 3, 1, 2), (8, 5, 3, 1, 1),
        ]
        for (i, t) in cases.enumerated() {
            for hasBias in [false, true] {
                for (useResidual, relu) in [(false, true), (true, true), (true, false), (false, false)] {
                    let label = "\(t.c)->\(t.o) \(t.k)x\(t.k)/\(t.s) on \(t.hw)x\(t.hw), bias \(hasBias), residual \(useResidual), relu \(relu)"
                    var rng = SeededGenerator(seed: UInt64(100 + i))
                    let t0 = ConvBatchNormCase(c: t.c, o: t.o, k: t.k, s: t.s, hw: t.hw, bias: hasBias, useResidual: useResidual,
                                               relu: relu, rng: &rng)
                    let (conv, bn, x, r, ref) = (t0.conv, t0.bn, t0.x, t0.residual, t0.reference)
                    let y = conv.forwardFoldingBatchNorm(x, bn: bn, residual: useResidual ? r : nil, relu: relu)
                    XCTAssertEqual(y.shape, ref.shape, label)
                    let scale = ref.data.reduce(Float(0)) { max($0, abs($1)) }
                    XCTAssertLessThanOrEqual(y.maxAbsDifference(ref), 1e-5 + 1e-5 * scale, label)
                }
            }
        }
    }

    /// A second BatchNorm on the same convolution gets its own folded weights.
    func testFoldFollowsTheBatchNorm() {
        var rng = SeededGenerator(seed: 7)
        let conv = Conv2d(inChannels: 3, outChannels: 4, kernelSize: 3, stride: 1, padding: 1, rng: &rng)
        let a = BatchNorm(numFeatures: 4), b = BatchNorm(numFeatures: 4)
        b.runningMean.value = Tensor.normal([4], rng: &rng)
        let x = Tensor.normal([2, 3, 5, 5], rng: &rng)
        let ya = conv.forwardFoldingBatchNorm(x, bn: a, residual: nil, relu: false)
        let yb = conv.forwardFoldingBatchNorm(x, bn: b, residual: nil, relu: false)
        let refB = b.forward(conv.forward(x), mode: .eval)
        XCTAssertGreaterThan(ya.maxAbsDifference(yb), 0.1)
        XCTAssertLessThanOrEqual(yb.maxAbsDifference(refB), 1e-4)
    }
}
