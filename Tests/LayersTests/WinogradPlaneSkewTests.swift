import XCTest
import Tensors
import Layers

/// The skew between the ξ planes of the Winograd scratch (`ConvTuning.winogradPlaneSkew`) changes
/// only where values sit in scratch: F(2x2, 3x3) forward, backward-data and backward-weight and the
/// F(4x4, 3x3) inference forward are bit for bit those of planes back to back (skew 0), on a ResNet
/// layer1 shape (64 channels on 8x8 maps, where the planes are 16 KB) and an odd one (partial
/// tiles, channels not a multiple of 8), with grouped images on 1 and 2 threads.
final class WinogradPlaneSkewTests: XCTestCase {
    func passes(_ x: Tensor, _ w: Tensor, skew: Int) -> [Tensor] {
        ConvTuning.winogradPlaneSkew = skew
        var dw = Tensor(zeros: w.shape)
        conv2dBackwardWeight(x, input: x, kernelSize: 3, stride: 1, padding: 1, into: &dw)
        ConvTuning.winograd4x4 = true
        return [conv2dForward(x, weight: w, bias: nil, stride: 1, padding: 1),
                conv2dBackwardData(x, weight: w, inputShape: x.shape, stride: 1, padding: 1), dw,
                conv2dInferenceForward(x, weight: w, bias: nil, stride: 1, padding: 1)]
    }

    func testSkewedPlanesBitIdentical() {
        let saved = (Threads.count, ConvTuning.winograd, ConvTuning.winogradWeightGradient, ConvTuning.winogradPlaneSkew,
                     ConvTuning.winograd4x4)
        defer {
            Threads.set(saved.0); ConvTuning.winograd = saved.1
            ConvTuning.winogradWeightGradient = saved.2; ConvTuning.winogradPlaneSkew = saved.3; ConvTuning.winograd4x4 = saved.4
        }
        ConvTuning.winograd = true; ConvTuning.winogradWeightGradient = true
        for (n, c, h, w) in [(6, 64, 8, 8), (3, 5, 9, 11)] {   // F(4x4) needs maps of 8x8 and more
            var rng = SeededGenerator(seed: UInt64(c + h))
            // backward passes take x as dOut too: square channel counts (O = C)
            let x = Tensor.normal([n, c, h, w], rng: &rng), wt = Tensor.normal([c, c, 3, 3], std: 0.1, rng: &rng)
            for threads in [1, 2] {
                Threads.set(threads)
                let ref = passes(x, wt, skew: 0)
                for skew in [16, 5] {
                    for (k, (a, b)) in zip(passes(x, wt, skew: skew), ref).enumerated() {
                        XCTAssertEqual(a.data, b.data, "pass \(k) [\(n), \(c), \(h), \(w)] skew \(skew) threads \(threads)")
                    }
                }
            }
        }
    }
}
