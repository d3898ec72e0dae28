import XCTest
import Tensors
import Layers

/// The row-run im2col / col2im (ConvRows.swift) equal the tap-table gather they replace on the
/// whole-map class, exactly; the clipped-window max pooling equals the plain loop, exactly.
final class ConvColumnsTests: XCTestCase {
    // (n, c, h, w, k, s, p)
    let geometries: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (2, 3, 13, 11, 7, 2, 3),   // ResNet stem, odd size
        (2, 4, 8, 8, 3, 1, 1),     // layer1 3x3
        (3, 5, 7, 6, 3, 2, 1),     // 3x3 stride 2, odd width
        (2, 6, 9, 9, 1, 2, 0),     // 1x1 stride 2 (downsample)
        (2, 3, 3, 3, 3, 1, 2),     // padding larger than needed: unused taps
        (2, 3, 3, 5, 5, 3, 2),     // 5x5 stride 3
        (1, 2, 1, 3, 3, 1, 1),     // 1x3: top and bottom tap rows unused
        (1, 2, 2, 2, 3, 1, 1),     // 2x2 maps
    ]

    func testRowRunsEqualTapGather() {
        var rng = SeededGenerator(seed: 7)
        for (n, c, h, w, k, s, p) in geometries {
            let x = Tensor.normal([n, c, h, w], rng: &rng)
            let label = "n\(n) c\(c) \(h)x\(w) k\(k) s\(s) p\(p)"
            for image in 0..<n {
                let rows = convColumnsWholeMap(x, image: image, kernelSize: k, stride: s, padding: p, rows: true)
                let gather = convColumnsWholeMap(x, image: image, kernelSize: k, stride: s, padding: p, rows: false)
                XCTAssertEqual(rows.count, gather.count, label)
                XCTAssertFalse(rows.contains { $0.isNaN }, "im2col left entries unwritten: \(label)")
                XCTAssertEqual(rows, gather, "im2col: \(label)")
                let cols = (0..<rows.count).map { _ in Float.random(in: -1...1, using: &rng) }
                let back = convColumnsWholeMap(x, image: image, kernelSize: k, stride: s, padding: p, rows: true, addBack: cols)
                let backRef = convColumnsWholeMap(x, image: image, kernelSize: k, stride: s, padding: p, rows: false, addBack: cols)
                XCTAssertEqual(back, backRef, "col2im: \(label)")
                XCTAssertTrue(back.contains { $0 != 0 }, label)
            }
        }
    }

    /// The stem's phase-split columns (StridedColumns) equal im2col's on strided geometries where
    /// every tap reads input, the 32x32 stem (16-wide output rows, the vector copy) included.
    func testStridedColumnsEqualIm2col() {
        var rng = SeededGenerator(seed: 11)
        // (n, c, h, w, k, s, p)
        for (n, c, h, w, k, s, p) in [(2, 3, 32, 32, 7, 2, 3), (2, 3, 13, 11, 7, 2, 3), (1, 3, 21, 21, 7, 2, 3),
                                      (3, 5, 7, 6, 3, 2, 1), (2, 6, 9, 9, 1, 2, 0), (2, 3, 10, 14, 5, 3, 2), (1, 2, 64, 48, 7, 2, 3)] {
            let x = Tensor.normal([n, c, h, w], rng: &rng)
            let label = "n\(n) c\(c) \(h)x\(w) k\(k) s\(s) p\(p)"
            for image in 0..<n {
                let want = convColumnsWholeMap(x, image: image, kernelSize: k, stride: s, padding: p, rows: false)
                let got = convColumnsStrided(x, image: image, kernelSize: k, stride: s, padding: p)
                XCTAssertEqual(got.count, want.count, "every tap reads input: \(label)")
                XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern), label)
            }
        }
    }

    func testMaxPoolEqualsPlainLoop() {
        var rng = SeededGenerator(seed: 3)
        // (h, w, k, s, p)
        for (h, w, k, s, p) in [(16, 16, 3, 2, 1), (7, 9, 3, 2, 1), (5, 6, 2, 1, 1), (6, 5, 3, 1, 0), (8, 7, 2, 2, 0), (3, 3, 3, 3, 1)] {
            // small integers: many ties (the first maximum must win); some NaN and -inf
            var x = Tensor(shape: [2, 3, h, w], data: (0..<(6 * h * w)).map { _ in Float(rng.nextInt(below: 4)) - 2 })
            for i in stride(from: 5, to: x.count, by: 23) { x.data[i] = .nan }
            for i in stride(from: 2, to: x.count, by: 17) { x.data[i] = -.infinity }
            let pool = MaxPool2d(kernelSize: k, stride: s, padding: p)
            let y = pool.forward(x)
            let (yRef, argRef) = referenceMaxPool2d(x, kernelSize: k, stride: s, padding: p)
            let label = "\(h)x\(w) k\(k) s\(s) p\(p)"
            XCTAssertEqual(y.shape, yRef.shape, label)
            XCTAssertEqual(y.data.map(\.bitPattern), yRef.data.map(\.bitPattern), "values: \(label)")
            // the argmax through backward: distinct gradients land where the maximum was taken
            let d = Tensor(shape: y.shape, data: (0..<y.count).map { Float($0 + 1) })
            let dx = pool.backward(d)
            var dxRef = [Float](repeating: 0, count: x.count)
            let hw = h * w, ohw = y.shape[2] * y.shape[3]
            for o in 0..<y.count { dxRef[(o / ohw) * hw + Int(argRef[o])] += d.data[o] }
            XCTAssertEqual(dx.data, dxRef, "argmax: \(label)")
        }
    }
}
