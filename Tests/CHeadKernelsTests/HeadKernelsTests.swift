import CHeadKernels
import XCTest

/// The head kernels on cached feature rows against plain Double loops (rounding tolerance),
/// and the AVX2 bodies against the portable bodies (bit for bit: same operations, same order).
final class HeadKernelsTests: XCTestCase {
    /// A seeded stream of values in [-1, 1).
    private struct Values {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
        mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
    }

    /// A feature table of `rows` x `cols` as Float32 values and as the Float16 patterns of those
    /// values rounded to half (`values` then holds the rounded values, what both read).
    private func table(rows: Int, cols: Int, half: Bool, seed: UInt64) -> (values: [Float], f16: [UInt16]) {
        var g = Values(state: seed)
        var v = g.array(rows * cols)
        guard half else { return (v, []) }
        let bits = v.map { Float16($0).bitPattern }
        v = bits.map { Float(Float16(bitPattern: $0)) }
        return (v, bits)
    }

    private func forward(_ t: (values: [Float], f16: [UInt16]), half: Bool, cols: Int, idx: [Int], w: [Float],
                         bias: [Float]?, out: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: idx.count * out)
        let run: (UnsafeRawPointer) -> Void = { base in
            bias.withPointer { pb in
                hk_rows_linear_forward(base, Int32(half ? HK_F16 : HK_F32), cols, idx, idx.count, w, pb, out, &y)
            }
        }
        if half { t.f16.withUnsafeBytes { run($0.baseAddress!) } } else { t.values.withUnsafeBytes { run($0.baseAddress!) } }
        return y
    }

    private func weightGrad(_ t: (values: [Float], f16: [UInt16]), half: Bool, cols: Int, idx: [Int], dy: [Float], out: Int,
                            dw: [Float], accumulate: Bool, ranges: [Range<Int>]) -> [Float] {
        var dw = dw
        let run: (UnsafeRawPointer) -> Void = { base in
            for r in ranges {
                hk_rows_linear_weight_grad(base, Int32(half ? HK_F16 : HK_F32), cols, idx, idx.count, dy, out, &dw,
                                           accumulate ? 1 : 0, r.lowerBound, r.upperBound)
            }
        }
        if half { t.f16.withUnsafeBytes { run($0.baseAddress!) } } else { t.values.withUnsafeBytes { run($0.baseAddress!) } }
        return dw
    }

    /// Shapes with every remainder: rows not a multiple of 3 nor of the 48-row panel, outputs
    /// not a multiple of 4, columns not a multiple of 8 nor of the 4096-column block.
    private let shapes: [(n: Int, cols: Int, out: Int)] = [(1, 3, 1), (7, 37, 6), (100, 1100, 32), (128, 2048, 10),
                                                           (53, 9001, 5)]

    func testForwardMatchesDoubleReference() {
        for half in [false, true] {
            for (n, cols, out) in shapes {
                let rows = n + 5
                let t = table(rows: rows, cols: cols, half: half, seed: UInt64(cols))
                var g = Values(state: 7)
                let w = g.array(out * cols), bias = g.array(out)
                let idx = (0..<n).map { (($0 * 7) + 3) % rows }  // out of order, repeats allowed
                let y = forward(t, half: half, cols: cols, idx: idx, w: w, bias: bias, out: out)
                for i in 0..<n {
                    for j in 0..<out {
                        var s = Double(bias[j]), mag = abs(Double(bias[j]))
                        for k in 0..<cols {
                            let p = Double(t.values[idx[i] * cols + k]) * Double(w[j * cols + k])
                            s += p
                            mag += abs(p)
                        }
                        XCTAssertEqual(Double(y[i * out + j]), s, accuracy: 1e-6 * mag + 1e-7,
                                       "half \(half) n \(n) cols \(cols) out \(out) at (\(i), \(j))")
                    }
                }
            }
        }
    }

    func testWeightGradMatchesDoubleReferenceAndSplitsFreely() {
        for half in [false, true] {
            for (n, cols, out) in shapes {
                let rows = n + 3
                let t = table(rows: rows, cols: cols, half: half, seed: UInt64(n))
                var g = Values(state: 11)
                let dy = g.array(n * out), start = g.array(out * cols)
                let idx = (0..<n).map { (rows - 1 - $0 * 5 % rows + rows) % rows }
                let whole = weightGrad(t, half: half, cols: cols, idx: idx, dy: dy, out: out, dw: start, accumulate: true,
                                       ranges: [0..<cols])
                for j in 0..<out {
                    for k in 0..<cols {
                        var s = 0.0, mag = 0.0
                        for i in 0..<n {
                            let p = Double(dy[i * out + j]) * Double(t.values[idx[i] * cols + k])
                            s += p
                            mag += abs(p)
                        }
                        XCTAssertEqual(Double(whole[j * cols + k]), Double(start[j * cols + k]) + s,
                                       accuracy: 1e-6 * (mag + 1), "half \(half) n \(n) cols \(cols) out \(out) at (\(j), \(k))")
                    }
                }
                // column ranges are independent: any split gives the same bits; without
                // accumulate the sums are stored
                let cut = [0, cols / 3, cols / 3 + 1, cols].sorted()
                let split = weightGrad(t, half: half, cols: cols, idx: idx, dy: dy, out: out, dw: start, accumulate: true,
                                       ranges: (0..<3).map { cut[$0]..<cut[$0 + 1] })
                XCTAssertEqual(split, whole)
                let stored = weightGrad(t, half: half, cols: cols, idx: idx, dy: dy, out: out, dw: start, accumulate: false,
                                        ranges: [0..<cols])
                let fromZero = weightGrad(t, half: half, cols: cols, idx: idx, dy: dy, out: out,
                                          dw: [Float](repeating: 0, count: out * cols), accumulate: true, ranges: [0..<cols])
                XCTAssertEqual(stored, fromZero)
            }
        }
    }

    /// The AVX-512 and AVX2 bodies (when this CPU has them) and the portable bodies give the same bits,
    /// and each row's outputs do not depend on the rows computed with it.
    func testAVX512AndAVX2AndPortableBodiesAgreeBitForBit() throws {
        // the second shape: a partial output block (10 = 4 + 4 + 1 + 1); the third: rows of three
        // 4096-column forward blocks (the last partial) in two 48-row panels, and many 384-column
        // weight-gradient blocks (each fetching the next one's rows ahead)
        for half in [false, true] { for (n, cols, out) in [(131, 1029, 32), (70, 2100, 10), (61, 8999, 6)] {
            let t = table(rows: n, cols: cols, half: half, seed: 5)
            var g = Values(state: 3)
            let w = g.array(out * cols), bias = g.array(out), dy = g.array(n * out), dw = g.array(out * cols)
            let idx = Array((0..<n).reversed())
            func both() -> ([Float], [Float]) {
                (forward(t, half: half, cols: cols, idx: idx, w: w, bias: bias, out: out),
                 weightGrad(t, half: half, cols: cols, idx: idx, dy: dy, out: out, dw: dw, accumulate: true, ranges: [0..<cols]))
            }
            let fast = both()
            hk_force_level(1)
            let avx2 = both()
            hk_force_portable(1)
            let portable = both()
            hk_force_portable(0)
            // fast: the AVX-512 bodies on a CPU with AVX-512F+VL (their 6-row and 48-column tiles leave
            // remainders here: 131 rows, 1029 columns), else the AVX2 bodies
            XCTAssertEqual(fast.0, portable.0, "forward, half \(half), \(n) x \(cols) -> \(out), level in use: \(hk_level())")
            XCTAssertEqual(fast.1, portable.1, "weight gradient, half \(half)")
            XCTAssertEqual(avx2.0, portable.0, "forward, AVX2 bodies, half \(half)")
            XCTAssertEqual(avx2.1, portable.1, "weight gradient, AVX2 bodies, half \(half)")
            let alone = forward(t, half: half, cols: cols, idx: [idx[40]], w: w, bias: bias, out: out)
            XCTAssertEqual(alone, Array(fast.0[(40 * out)..<(41 * out)]), "a row alone equals the row in a batch")
        } }
    }
}

private extension Optional where Wrapped == [Float] {
    func withPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
