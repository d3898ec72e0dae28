import XCTest
import Tensors
import Layers

/// The fast im2col + sgemm convolution equals the direct reference loops on odd shapes,
/// for all three passes, with and without bias, serial and parallel.
final class ConvTests: XCTestCase {
    struct Case { let n, c, h, w, o, k, s, p: Int; let bias: Bool }

    let cases: [Case] = [
        Case(n: 2, c: 3, h: 13, w: 11, o: 5, k: 7, s: 2, p: 3, bias: false),  // ResNet stem, odd size
        Case(n: 3, c: 6, h: 5, w: 7, o: 4, k: 1, s: 1, p: 0, bias: true),     // 1x1
        Case(n: 2, c: 6, h: 9, w: 9, o: 3, k: 1, s: 2, p: 0, bias: false),    // 1x1 stride 2 (downsample)
        Case(n: 4, c: 5, h: 6, w: 7, o: 7, k: 3, s: 1, p: 1, bias: true),     // 3x3, C not a multiple of 8
        Case(n: 3, c: 5, h: 7, w: 6, o: 6, k: 3, s: 2, p: 1, bias: false),    // 3x3 stride 2
        Case(n: 5, c: 3, h: 3, w: 3, o: 2, k: 3, s: 1, p: 2, bias: true),     // padding larger than needed
        Case(n: 9, c: 4, h: 2, w: 2, o: 3, k: 3, s: 1, p: 1, bias: true),     // tiny maps: grouped images
        Case(n: 7, c: 5, h: 1, w: 1, o: 4, k: 3, s: 1, p: 1, bias: false),    // 1x1 maps: only the centre tap reads input
        Case(n: 6, c: 3, h: 2, w: 2, o: 5, k: 3, s: 2, p: 1, bias: true),     // 2x2 -> 1x1 stride 2: 4 of 9 taps
        Case(n: 3, c: 2, h: 1, w: 3, o: 3, k: 3, s: 1, p: 1, bias: false),    // 1x3 maps: the top and bottom rows unused
        Case(n: 5, c: 3, h: 3, w: 3, o: 2, k: 5, s: 3, p: 2, bias: true),     // 5x5 stride 3: scattered unused taps
        Case(n: 5, c: 3, h: 2, w: 2, o: 4, k: 3, s: 1, p: 1, bias: false),    // 2x2 maps: 4 position classes of 4 taps
        Case(n: 4, c: 2, h: 4, w: 4, o: 3, k: 3, s: 2, p: 1, bias: true),     // 4x4 -> 2x2 stride 2: classes of 4 and 6 taps
        Case(n: 3, c: 3, h: 3, w: 4, o: 2, k: 3, s: 1, p: 1, bias: false),    // 3x4 maps: 9 position classes
    ]

    func check(_ cs: Case, threads: Int, minColumns: Int) {
        // im2col + sgemm for every case (the Winograd path has WinogradTests)
        let saved = (Threads.count, ConvTuning.minColumns, ConvTuning.winograd)
        Threads.set(threads); ConvTuning.minColumns = minColumns; ConvTuning.winograd = false
        defer { Threads.set(saved.0); ConvTuning.minColumns = saved.1; ConvTuning.winograd = saved.2 }
        var rng = SeededGenerator(seed: UInt64(cs.c * 100 + cs.k * 10 + cs.s))
        let x = Tensor.normal([cs.n, cs.c, cs.h, cs.w], rng: &rng)
        let conv = Conv2d(inChannels: cs.c, outChannels: cs.o, kernelSize: cs.k, stride: cs.s, padding: cs.p, bias: cs.bias, rng: &rng)
        let y = conv.forward(x)
        let yRef = referenceConv2dForward(x, weight: conv.weight.value, bias: conv.bias?.value, stride: cs.s, padding: cs.p)
        let dy = Tensor.normal(y.shape, rng: &rng)
        let dx = conv.backward(dy)
        let dxRef = referenceConv2dBackwardData(dy, weight: conv.weight.value, inputShape: x.shape, stride: cs.s, padding: cs.p)
        let (dwRef, dbRef) = referenceConv2dBackwardWeight(dy, input: x, kernelSize: cs.k, stride: cs.s, padding: cs.p)
        let tol: Float = 1e-4
        let label = "\(cs) threads \(threads) minColumns \(minColumns)"
        XCTAssertEqual(y.shape, yRef.shape, label)
        let e1 = relErr(y, yRef), e2 = relErr(dx, dxRef), e3 = relErr(conv.weight.grad, dwRef)
        XCTAssertLessThan(e1, tol, "forward max rel diff \(e1) \(label)")
        XCTAssertLessThan(e2, tol, "backward-data max rel diff \(e2) \(label)")
        XCTAssertLessThan(e3, tol, "backward-weight max rel diff \(e3) \(label)")
        if let b = conv.bias {
            let e4 = relErr(b.grad, dbRef)
            XCTAssertLessThan(e4, tol, "backward-bias max rel diff \(e4) \(label)")
        }
        // A second backward adds into the gradient (llm.c convention).
        _ = conv.backward(dy)
        let twice = Tensor(shape: dwRef.shape, data: dwRef.data.map { 2 * $0 })
        let e5 = relErr(conv.weight.grad, twice)
        XCTAssertLessThan(e5, tol, "accumulated backward-weight max rel diff \(e5) \(label)")
    }

    func testFastConvMatchesReference() {
        for cs in cases {
            for (threads, minColumns) in [(1, 1), (2, 1), (2, 256), (1, 4096)] { check(cs, threads: threads, minColumns: minColumns) }
        }
    }
}

/// max |a − b| / max(1, max |b|).
func relErr(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    let scale = max(1, b.data.map { abs($0) }.max() ?? 0)
    return a.maxAbsDifference(b) / scale
}
