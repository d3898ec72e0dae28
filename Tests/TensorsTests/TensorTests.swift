import XCTest
import Tensors

final class TensorTests: XCTestCase {
    func testSeededGeneratorIsDeterministicAndSeedSensitive() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let xa = (0..<5).map { _ in a.next() }, xb = (0..<5).map { _ in b.next() }, xc = (0..<5).map { _ in c.next() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, xc)
    }

    func testNormalHasUnitMoments() {
        var g = SeededGenerator(seed: 7)
        let t = Tensor.normal([20000], rng: &g)
        let mean = t.data.reduce(0, +) / Float(t.count)
        let varc = t.data.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(t.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(varc, 1, accuracy: 0.05)
    }

    func testPermutationIsAPermutation() {
        var g = SeededGenerator(seed: 1)
        let p = g.permutation(1000)
        XCTAssertEqual(p.sorted(), Array(0..<1000))
        XCTAssertNotEqual(p, Array(0..<1000))
    }

    func testSgemmMatchesReferenceForAllTransposes() {
        var g = SeededGenerator(seed: 3)
        let (m, n, k) = (7, 5, 11)
        for ta in [false, true] {
            for tb in [false, true] {
                let a = Tensor.normal(ta ? [k, m] : [m, k], rng: &g)
                let b = Tensor.normal(tb ? [n, k] : [k, n], rng: &g)
                let fast = Tensor.matmul(a, b, transA: ta, transB: tb)
                var ref = [Float](repeating: 0, count: m * n)
                referenceGemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a.data, b: b.data, c: &ref)
                let diff = fast.maxAbsDifference(Tensor(shape: [m, n], data: ref))
                XCTAssertLessThan(diff, 1e-5, "transA=\(ta) transB=\(tb) max diff \(diff)")
            }
        }
    }

    func testGatherAndConcatRows() {
        let t = Tensor(shape: [3, 2], data: [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(t.gatherRows([2, 0]).data, [4, 5, 0, 1])
        XCTAssertEqual(Tensor.concatRows([t.rows(0..<1), t.rows(2..<3)]).data, [0, 1, 4, 5])
        XCTAssertEqual(t[1, 1], 3)
    }

    func testParallelForCoversEveryIndexOnce() {
        Threads.set(2)
        var hits = [Int](repeating: 0, count: 1001)
        hits.withUnsafeMutableBufferPointer { h in
            let p = h.baseAddress!
            parallelFor(1001, minChunk: 10) { r in for i in r { p[i] += 1 } }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 1001))
    }
}
