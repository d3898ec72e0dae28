import XCTest
import Tensors
import Layers

/// The vector BatchNorm training kernels (`BatchNormTuning.vectorRows`: eight rows per SIMD, the
/// dx pass in SIMD) give bit-identical results to the scalar reference loops: the same operations
/// in the same order per value. Shapes cover rows of 1, 4, 7, 9, 16 and 64 values (gathered
/// eight-row groups, SIMD rows with a scalar tail), channel counts with and without a remainder
/// past the last group of eight, 1 and 2 threads (channel chunks split differently).
final class BatchNormKernelTests: XCTestCase {
    override func tearDown() { BatchNormTuning.vectorRows = true; Threads.set(2); super.tearDown() }

    struct Outcome { var y, dx, gw, gb, rm, rv: [Float]; var dRes: [Float]? }

    func run(_ shape: [Int], residual: Bool, relu: Bool, vector: Bool, seed: UInt64) -> Outcome {
        BatchNormTuning.vectorRows = vector
        var rng = SeededGenerator(seed: seed)
        let c = shape[1], bn = BatchNorm(numFeatures: c)
        bn.weight.value = Tensor.normal([c], rng: &rng); bn.bias.value = Tensor.normal([c], rng: &rng)
        // an offset mean and spread scale, as activations have
        let x = Tensor.normal(shape, mean: 0.7, std: 2.5, rng: &rng), r = Tensor.normal(shape, rng: &rng)
        let dy = Tensor.normal(shape, rng: &rng)
        var outs: [Outcome] = []
        for _ in 0..<2 {   // twice: the second forward updates the running stats again
            let y = bn.forward(x, mode: .train, residual: residual ? r : nil, relu: relu)
            let (dx, dRes) = bn.backwardFused(dy)
            outs.append(Outcome(y: y.data, dx: dx.data, gw: bn.weight.grad.data, gb: bn.bias.grad.data,
                                rm: bn.runningMean.value.data, rv: bn.runningVar.value.data, dRes: dRes?.data))
        }
        return outs[1]
    }

    func testVectorKernelsBitIdenticalToScalar() {
        let shapes = [[6, 16, 1, 1], [5, 12, 2, 2], [3, 9, 1, 7], [4, 24, 3, 3], [2, 19, 4, 4], [3, 8, 8, 8], [7, 13]]
        for threads in [1, 2] {
            Threads.set(threads)
            for (k, shape) in shapes.enumerated() {
                for (residual, relu) in [(false, false), (false, true), (true, true)] {
                    let label = "\(shape) residual \(residual) relu \(relu) threads \(threads)"
                    let seed = UInt64(100 + k)
                    let ref = run(shape, residual: residual, relu: relu, vector: false, seed: seed)
                    let vec = run(shape, residual: residual, relu: relu, vector: true, seed: seed)
                    XCTAssertEqual(vec.y, ref.y, "y \(label)")
                    XCTAssertEqual(vec.dx, ref.dx, "dx \(label)")
                    XCTAssertEqual(vec.gw, ref.gw, "dγ \(label)")
                    XCTAssertEqual(vec.gb, ref.gb, "dβ \(label)")
                    XCTAssertEqual(vec.rm, ref.rm, "running mean \(label)")
                    XCTAssertEqual(vec.rv, ref.rv, "running var \(label)")
                    XCTAssertEqual(vec.dRes, ref.dRes, "dResidual \(label)")
                    XCTAssertTrue(ref.dx.contains { $0 != 0 }, "dx is not all zero \(label)")
                }
            }
        }
    }
}
