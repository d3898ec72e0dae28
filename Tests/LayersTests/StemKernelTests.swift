import Layers
import Tensors
import XCTest

/// `resNetStemEval` (conv -> BatchNorm eval -> ReLU -> max-pool fused per image) against the
/// layers one after the other: the same values, on 1 and 2 threads, with non-trivial running
/// statistics (negative gammas flip windows), a conv bias, and odd map sizes.
final class StemKernelTests: XCTestCase {
    private func layers(seed: UInt64, bias: Bool) -> (Conv2d, BatchNorm, MaxPool2d) {
        var rng = SeededGenerator(seed: seed)
        let conv = Conv2d(inChannels: 3, outChannels: 16, kernelSize: 7, stride: 2, padding: 3, bias: bias, rng: &rng)
        let bn = BatchNorm(numFeatures: 16)
        bn.runningMean.value = Tensor.normal([16], std: 0.3, rng: &rng)
        bn.runningVar.value = Tensor(shape: [16], data: (0..<16).map { _ in 0.2 + rng.nextFloat() })
        bn.weight.value = Tensor.normal([16], rng: &rng)   // about half negative
        bn.bias.value = Tensor.normal([16], std: 0.5, rng: &rng)
        return (conv, bn, MaxPool2d(kernelSize: 3, stride: 2, padding: 1))
    }

    func testFusedStemEqualsLayersInTurn() throws {
        let saved = Threads.count
        defer { Threads.set(saved) }
        for (threads, size, n, bias) in [(1, 32, 3, false), (2, 32, 5, false), (2, 21, 4, true), (2, 64, 2, false)] {
            Threads.set(threads)
            let (conv, bn, pool) = layers(seed: UInt64(size), bias: bias)
            var rng = SeededGenerator(seed: 9)
            let x = Tensor.normal([n, 3, size, size], rng: &rng)
            let want = pool.forward(bn.forward(conv.forward(x), mode: .eval, residual: nil, relu: true))
            let got = try XCTUnwrap(resNetStemEval(x, conv: conv, bn: bn, pool: pool), "size \(size)")
            XCTAssertEqual(got.shape, want.shape)
            let tag = "threads \(threads), \(n)x3x\(size)x\(size), bias \(bias)"
            if size == 32 || size == 64 {
                // one GEMM per image in both: the same bits (sign of zero included)
                XCTAssertEqual(got.data.map(\.bitPattern), want.data.map(\.bitPattern), tag)
            } else {
                XCTAssertLessThanOrEqual(got.maxAbsDifference(want), 1e-5, tag)
            }
            XCTAssertTrue(want.data.contains(0) && want.data.contains { $0 > 0 }, "ReLU both ways: \(tag)")
        }
    }

    /// Maps so small that a kernel row only reads padding have no fused path.
    func testTinyMapsFallBack() {
        let (conv, bn, pool) = layers(seed: 1, bias: false)
        var rng = SeededGenerator(seed: 2)
        XCTAssertNil(resNetStemEval(Tensor.normal([2, 3, 4, 4], rng: &rng), conv: conv, bn: bn, pool: pool))
    }
}
