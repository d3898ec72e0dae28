import Layers
import Tensors
import XCTest

/// The channels-last eval convolution (ConvChannelsLast.swift: 1x1 stride 1 as one GEMM over
/// N·H·W rows, else one GEMM per output position with padding taps skipped, pixels gathered when
/// they are not one run) against the layers in turn in NCHW (Conv2d.forward, then
/// BatchNorm.forward(residual:relu:) in eval mode), on the tiny maps ResNet's layer3/layer4 see at
/// 32x32 input and a few others. Tolerance 1e-5 + 1e-5 x max|reference|.
final class ConvChannelsLastTests: XCTestCase {
    func testChannelsLastEqualsLayers() {
        let cases: [(c: Int, o: Int, k: Int, s: Int, hw: Int)] = [
            (6, 5, 1, 1, 2), (5, 7, 1, 1, 1), (6, 5, 1, 2, 4), (4, 6, 1, 2, 2),   // 1x1: GEMM over rows, strided
            (7, 6, 3, 1, 2), (8, 5, 3, 1, 1), (5, 4, 3, 1, 3), (6, 7, 3, 1, 4),    // 3x3 stride 1: 4 taps, centre, gathered
            (6, 5, 3, 2, 4), (5, 6, 3, 2, 2), (4, 3, 3, 2, 5), (5, 4, 3, 2, 8),    // 3x3 stride 2: gathered pixels, one run
        ]
        for (i, t) in cases.enumerated() {
            for hasBias in [false, true] {
                for (useResidual, relu) in [(false, true), (true, true), (true, false), (false, false)] {
                    let label = "\(t.c)->\(t.o) \(t.k)x\(t.k)/\(t.s) on \(t.hw)x\(t.hw), bias \(hasBias), residual \(useResidual), relu \(relu)"
                    var rng = SeededGenerator(seed: UInt64(200 + i))
                    let t0 = ConvBatchNormCase(c: t.c, o: t.o, k: t.k, s: t.s, hw: t.hw, bias: hasBias, useResidual: useResidual,
                                               relu: relu, rng: &rng)
                    let (conv, bn, x, r, ref) = (t0.conv, t0.bn, t0.x, t0.residual, t0.reference)
                    for batch in [3, 2] {   // a second, smaller batch reuses the packing built for the first
                        let xb = Tensor(shape: [batch] + Array(x.shape.dropFirst()), data: Array(x.data.prefix(batch * x.count / 3)))
                        let rb = Tensor(shape: [batch] + Array(r.shape.dropFirst()), data: Array(r.data.prefix(batch * r.count / 3)))
                        let refB = Array(ref.data.prefix(batch * ref.count / 3))
                        let y = conv.forwardFoldingBatchNormChannelsLast(channelsLast(xb), bn: bn,
                                                                         residual: useResidual ? channelsLast(rb) : nil, relu: relu)
                        let back = channelsFirst(y)
                        XCTAssertEqual(back.shape, [batch] + Array(ref.shape.dropFirst()), label)
                        let scale = refB.reduce(Float(0)) { max($0, abs($1)) }
                        let diff = zip(back.data, refB).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
                        XCTAssertLessThanOrEqual(diff, 1e-5 + 1e-5 * scale, "\(label), batch \(batch)")
                    }
                }
            }
        }
    }

    /// [N, C, H, W] <-> [N, H, W, C]: element (n, c, y, x) lands at (n, y, x, c), and back.
    func testLayoutConversion() {
        var rng = SeededGenerator(seed: 9)
        let x = Tensor.normal([2, 3, 4, 5], rng: &rng)
        let y = channelsLast(x)
        XCTAssertEqual(y.shape, [2, 4, 5, 3])
        for n in 0..<2 { for c in 0..<3 { for i in 0..<4 { for j in 0..<5 {
            XCTAssertEqual(y.data[((n * 4 + i) * 5 + j) * 3 + c], x.data[((n * 3 + c) * 4 + i) * 5 + j])
        } } } }
        XCTAssertEqual(channelsFirst(y), x)
    }
}
