import XCTest
import Tensors
import Layers

/// Winograd F(2x2, 3x3) (ConvWinograd.swift) equals the direct reference loops for all three
/// passes: even and odd maps (partial tiles), channels not a multiple of 8, with and without bias,
/// grouped and per-image, serial and parallel. im2col + sgemm (winograd off) is checked by ConvTests.
final class WinogradTests: XCTestCase {
    struct Case { let n, c, h, w, o: Int; let bias: Bool }

    let cases: [Case] = [
        Case(n: 3, c: 5, h: 8, w: 8, o: 7, bias: false),   // ResNet layer1 at 32x32 input: 8x8 maps
        Case(n: 4, c: 9, h: 4, w: 4, o: 6, bias: true),    // smallest map taking the path
        Case(n: 2, c: 3, h: 5, w: 7, o: 4, bias: true),    // odd height and width: partial tiles
        Case(n: 5, c: 4, h: 6, w: 9, o: 3, bias: false),   // odd width only
    ]

    func check(_ cs: Case, threads: Int, minColumns: Int) {
        let saved = (Threads.count, ConvTuning.minColumns, ConvTuning.winograd, ConvTuning.winogradWeightGradient)
        Threads.set(threads); ConvTuning.minColumns = minColumns
        ConvTuning.winograd = true; ConvTuning.winogradWeightGradient = true
        defer {
            Threads.set(saved.0); ConvTuning.minColumns = saved.1
            ConvTuning.winograd = saved.2; ConvTuning.winogradWeightGradient = saved.3
        }
        var rng = SeededGenerator(seed: UInt64(cs.c * 100 + cs.h * 10 + cs.w))
        let x = Tensor.normal([cs.n, cs.c, cs.h, cs.w], rng: &rng)
        let conv = Conv2d(inChannels: cs.c, outChannels: cs.o, kernelSize: 3, stride: 1, padding: 1, bias: cs.bias, rng: &rng)
        let y = conv.forward(x)
        let yRef = referenceConv2dForward(x, weight: conv.weight.value, bias: conv.bias?.value, stride: 1, padding: 1)
        let dy = Tensor.normal(y.shape, rng: &rng)
        let dx = conv.backward(dy)
        let dxRef = referenceConv2dBackwardData(dy, weight: conv.weight.value, inputShape: x.shape, stride: 1, padding: 1)
        let (dwRef, _) = referenceConv2dBackwardWeight(dy, input: x, kernelSize: 3, stride: 1, padding: 1)
        let tol: Float = 1e-4, label = "\(cs) threads \(threads) minColumns \(minColumns)"
        let e1 = relErr(y, yRef), e2 = relErr(dx, dxRef), e3 = relErr(conv.weight.grad, dwRef)
        XCTAssertLessThan(e1, tol, "forward max rel diff \(e1) \(label)")
        XCTAssertLessThan(e2, tol, "backward-data max rel diff \(e2) \(label)")
        XCTAssertLessThan(e3, tol, "backward-weight max rel diff \(e3) \(label)")
        // a second backward adds into the gradient
        _ = conv.backward(dy)
        let e4 = relErr(conv.weight.grad, Tensor(shape: dwRef.shape, data: dwRef.data.map { 2 * $0 }))
        XCTAssertLessThan(e4, tol, "accumulated backward-weight max rel diff \(e4) \(label)")
    }

    func testWinogradMatchesReference() {
        for cs in cases {
            for (threads, minColumns) in [(1, 1), (2, 1), (2, 256), (1, 4096)] { check(cs, threads: threads, minColumns: minColumns) }
        }
    }

    /// The switch really selects another kernel: both paths agree to rounding, not bit for bit.
    func testWinogradIsTheKernelTaken() {
        var rng = SeededGenerator(seed: 7)
        let x = Tensor.normal([2, 16, 8, 8], rng: &rng), w = Tensor.normal([16, 16, 3, 3], rng: &rng)
        let saved = (ConvTuning.winograd, ConvTuning.winogradWeightGradient)
        defer { ConvTuning.winograd = saved.0; ConvTuning.winogradWeightGradient = saved.1 }
        func passes(_ winograd: Bool) -> [Tensor] {
            ConvTuning.winograd = winograd; ConvTuning.winogradWeightGradient = winograd
            var dw = Tensor(zeros: w.shape)
            conv2dBackwardWeight(x, input: x, kernelSize: 3, stride: 1, padding: 1, into: &dw)
            return [conv2dForward(x, weight: w, bias: nil, stride: 1, padding: 1),
                    conv2dBackwardData(x, weight: w, inputShape: x.shape, stride: 1, padding: 1), dw]
        }
        for (a, b) in zip(passes(true), passes(false)) {
            XCTAssertLessThan(relErr(a, b), 1e-4)
            XCTAssertGreaterThan(a.maxAbsDifference(b), 0, "Winograd and im2col gave identical bits: the Winograd path was not taken")
        }
    }
}
