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

    /// The vector BatchNorm -> ReLU -> pool equals the scalar path bit for bit where ties abound:
    /// small integers and signed zeros, beta -0 (so zeros keep their sign through BatchNorm),
    /// a negative gamma, and infinities.
    func testVectorPoolEqualsScalarPathOnTies() throws {
        var rng = SeededGenerator(seed: 5)
        var negativeZeros = 0, positiveZeros = 0
        for (h, w) in [(16, 16), (16, 32), (7, 16), (2, 48)] {
            for (mean, invStd, gamma, beta) in [(Float(0), Float(1), Float(1), Float(-0.0)), (0, 1, -1, -0.0), (1, 0.5, 2, 0.25)] {
                let pool: [Float] = [0, -0.0, 0, -0.0, 0, -0.0, 1, -1, 2, .infinity, -.infinity]
                let plane = (0..<(h * w)).map { _ in pool[rng.nextInt(below: pool.count)] }
                let r = stemPoolPaths(plane, h: h, w: w, mean: mean, invStd: invStd, gamma: gamma, beta: beta)
                let vector = try XCTUnwrap(r.vector, "\(h)x\(w) has a vector path")
                XCTAssertEqual(vector.map(\.bitPattern), r.scalar.map(\.bitPattern), "\(h)x\(w) bn \(mean) \(invStd) \(gamma) \(beta)")
                negativeZeros += r.scalar.filter { $0 == 0 && $0.sign == .minus }.count
                positiveZeros += r.scalar.filter { $0 == 0 && $0.sign == .plus }.count
            }
        }
        XCTAssertGreaterThan(negativeZeros, 0, "windows whose first maximum is -0")
        XCTAssertGreaterThan(positiveZeros, 0, "windows whose first maximum is +0")
        XCTAssertNil(stemPoolPaths([Float](repeating: 1, count: 36), h: 6, w: 6, mean: 0, invStd: 1, gamma: 1, beta: 0).vector)
    }

    /// Maps so small that a kernel row only reads padding have no fused path.
    func testTinyMapsFallBack() {
        let (conv, bn, pool) = layers(seed: 1, bias: false)
        var rng = SeededGenerator(seed: 2)
        XCTAssertNil(resNetStemEval(Tensor.normal([2, 3, 4, 4], rng: &rng), conv: conv, bn: bn, pool: pool))
    }
}
