import XCTest
import Tensors
import Layers

/// Winograd F(4x4, 3x3) (ConvWinograd4x4.swift, inference forwards only) equals the direct reference loops at
/// 1e-4 of the output scale (relErr: max abs difference / max abs reference value): maps that are
/// multiples of 4 and not (partial tiles), channels not a multiple of 8, with and without bias,
/// grouped and per-image, serial and parallel, and ResNet18's layer1 at 32x32 input (64 channels,
/// 8x8 maps). F(2x2, 3x3) and im2col are held to the same reference by WinogradTests and ConvTests.
final class WinogradF4Tests: XCTestCase {
    struct Case { let n, c, h, w, o: Int; let bias: Bool }

    let cases: [Case] = [
        Case(n: 3, c: 5, h: 8, w: 8, o: 7, bias: false),    // smallest map taking the path
        Case(n: 2, c: 3, h: 9, w: 11, o: 4, bias: true),    // partial tiles in both directions
        Case(n: 4, c: 6, h: 12, w: 8, o: 9, bias: true),
        Case(n: 2, c: 4, h: 16, w: 13, o: 3, bias: false),
    ]

    func forward(_ x: Tensor, _ w: Tensor, _ b: Tensor?, threads: Int, minColumns: Int, f4: Bool) -> Tensor {
        let saved = (Threads.count, ConvTuning.minColumns, ConvTuning.winograd, ConvTuning.winograd4x4)
        Threads.set(threads); ConvTuning.minColumns = minColumns; ConvTuning.winograd = true; ConvTuning.winograd4x4 = f4
        defer { Threads.set(saved.0); ConvTuning.minColumns = saved.1; ConvTuning.winograd = saved.2; ConvTuning.winograd4x4 = saved.3 }
        return conv2dInferenceForward(x, weight: w, bias: b, stride: 1, padding: 1)
    }

    /// The output transform's vector loop (8 tiles at a time) equals the scalar loop bit for bit,
    /// on whole tiles and partial ones, with and without bias, with the tiles split unevenly.
    func testVectorTransformsEqualScalarLoop() {
        for cs in cases + [Case(n: 5, c: 8, h: 8, w: 8, o: 6, bias: true), Case(n: 19, c: 3, h: 8, w: 12, o: 5, bias: true)] {
            var rng = SeededGenerator(seed: UInt64(cs.o * 1000 + cs.h * 10 + cs.w))
            let x = Tensor.normal([cs.n, cs.c, cs.h, cs.w], rng: &rng), w = Tensor.normal([cs.o, cs.c, 3, 3], rng: &rng)
            let b = cs.bias ? Tensor.normal([cs.o], rng: &rng) : nil
            let saved = ConvTuning.winogradVectorTransforms
            defer { ConvTuning.winogradVectorTransforms = saved }
            for (threads, minColumns) in [(1, 4096), (2, 1)] {
                ConvTuning.winogradVectorTransforms = true
                let vector = forward(x, w, b, threads: threads, minColumns: minColumns, f4: true)
                ConvTuning.winogradVectorTransforms = false
                let scalar = forward(x, w, b, threads: threads, minColumns: minColumns, f4: true)
                XCTAssertEqual(vector.data.map(\.bitPattern), scalar.data.map(\.bitPattern), "\(cs) threads \(threads)")
            }
        }
    }

    func testF4MatchesReference() {
        for cs in cases {
            var rng = SeededGenerator(seed: UInt64(cs.c * 100 + cs.h * 10 + cs.w))
            let x = Tensor.normal([cs.n, cs.c, cs.h, cs.w], rng: &rng), w = Tensor.normal([cs.o, cs.c, 3, 3], rng: &rng)
            let b = cs.bias ? Tensor.normal([cs.o], rng: &rng) : nil
            let ref = referenceConv2dForward(x, weight: w, bias: b, stride: 1, padding: 1)
            for (threads, minColumns) in [(1, 1), (2, 1), (2, 256), (1, 4096)] {
                let e = relErr(forward(x, w, b, threads: threads, minColumns: minColumns, f4: true), ref)
                XCTAssertLessThan(e, 1e-4, "F(4x4, 3x3) forward max rel diff \(e), \(cs) threads \(threads) minColumns \(minColumns)")
            }
        }
    }

    /// ResNet18's layer1 shape (64 -> 64 channels on 8x8 maps, He-initialised weights, post-ReLU
    /// inputs), and the switch really selects another kernel: F(4x4) and F(2x2) agree to rounding, not bit for bit.
    func testF4OnResNetLayer1AndIsTheKernelTaken() {
        var rng = SeededGenerator(seed: 11)
        let x = Tensor(shape: [16, 64, 8, 8], data: Tensor.normal([16, 64, 8, 8], rng: &rng).data.map { Swift.max(0, $0) })
        let w = Tensor(shape: [64, 64, 3, 3], data: Tensor.normal([64, 64, 3, 3], rng: &rng).data.map { $0 * (2 / 576 as Float).squareRoot() })
        let ref = referenceConv2dForward(x, weight: w, bias: nil, stride: 1, padding: 1)
        let f4 = forward(x, w, nil, threads: 2, minColumns: 256, f4: true), f2 = forward(x, w, nil, threads: 2, minColumns: 256, f4: false)
        XCTAssertLessThan(relErr(f4, ref), 1e-4, "F(4x4, 3x3) on ResNet18 layer1")
        XCTAssertLessThan(relErr(f2, ref), 1e-4, "F(2x2, 3x3) on ResNet18 layer1")
        XCTAssertGreaterThan(f4.maxAbsDifference(f2), 0, "F(4x4) and F(2x2) gave identical bits: the F(4x4) path was not taken")
    }

    /// Conv2d takes F(4x4, 3x3) in eval mode only: train mode (and `forward(_:)`) keep the training
    /// kernels bit for bit; both modes cache the input for a backward.
    func testOnlyEvalModeTakesF4() {
        var rng = SeededGenerator(seed: 5)
        let conv = Conv2d(inChannels: 8, outChannels: 8, kernelSize: 3, stride: 1, padding: 1, bias: true, rng: &rng)
        let x = Tensor.normal([2, 8, 8, 8], rng: &rng)
        let plain = conv.forward(x), train = conv.forward(x, mode: .train), eval = conv.forward(x, mode: .eval)
        XCTAssertEqual(train.data.map(\.bitPattern), plain.data.map(\.bitPattern), "train mode must keep the training kernels")
        XCTAssertGreaterThan(eval.maxAbsDifference(plain), 0, "eval mode did not take F(4x4, 3x3)")
        XCTAssertLessThan(relErr(eval, referenceConv2dForward(x, weight: conv.weight.value, bias: conv.bias?.value, stride: 1, padding: 1)), 1e-4)
        XCTAssertEqual(conv.backward(Tensor.normal(eval.shape, rng: &rng)).shape, x.shape)
    }
}
