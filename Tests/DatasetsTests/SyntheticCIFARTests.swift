import Datasets
import Foundation
import Tensors
import XCTest

/// The generated stand-in images: deterministic, balanced, and with a real easy/hard mix.
final class SyntheticCIFARTests: XCTestCase {
    func testDeterministicForASeedAndIndependentOfThreads() {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(1)
        let a = SyntheticCIFAR.generate(count: 600, seed: 42, hardFraction: 0.4, split: "train")
        Threads.set(2)
        let b = SyntheticCIFAR.generate(count: 600, seed: 42, hardFraction: 0.4, split: "train")
        XCTAssertEqual(a.images, b.images)
        XCTAssertEqual(a.hard, b.hard)
        let c = SyntheticCIFAR.generate(count: 600, seed: 43, hardFraction: 0.4, split: "train")
        XCTAssertNotEqual(a.images.pixels, c.images.pixels)
        let t = SyntheticCIFAR.generate(count: 600, seed: 42, hardFraction: 0.4, split: "test")
        XCTAssertNotEqual(a.images.pixels, t.images.pixels, "train and test must be different draws")
    }

    func testClassBalanceAndHardFraction() {
        let g = SyntheticCIFAR.generate(count: 1003, seed: 3, hardFraction: 0.3, split: "train")
        let counts = g.images.classCounts()
        XCTAssertEqual(counts.reduce(0, +), 1003)
        XCTAssertLessThanOrEqual(counts.max()! - counts.min()!, 1, "\(counts)")
        XCTAssertEqual(g.hard.filter { $0 }.count, 301)
        var hardPerClass = [Int](repeating: 0, count: 10)
        for i in 0..<g.images.count where g.hard[i] { hardPerClass[g.images.label(i)] += 1 }
        XCTAssertLessThanOrEqual(hardPerClass.max()! - hardPerClass.min()!, 1, "\(hardPerClass)")
        XCTAssertNotEqual(Array(g.images.labels.prefix(20)), (0..<20).map { UInt8($0 % 10) }, "labels must be shuffled")
        XCTAssertEqual(SyntheticCIFAR.generate(count: 50, seed: 3, hardFraction: 0, split: "x").hard.filter { $0 }.count, 0)
        XCTAssertEqual(SyntheticCIFAR.generate(count: 50, seed: 3, hardFraction: 1, split: "x").hard.filter { !$0 }.count, 0)
    }

    /// Nearest-class-mean on raw pixels (class means from a mixed training draw): well above
    /// chance (10%) on easy test images, clearly worse on hard ones.
    func testEasyExamplesSeparableHardOnesNot() {
        let train = SyntheticCIFAR.generate(count: 2000, seed: 1, hardFraction: 0.4, split: "train")
        let test = SyntheticCIFAR.generate(count: 1000, seed: 1, hardFraction: 0.5, split: "test")
        let n = CIFARImages.pixelsPerImage
        var means = [Float](repeating: 0, count: 10 * n)
        var counts = [Float](repeating: 0, count: 10)
        for i in 0..<train.images.count {
            let l = train.images.label(i)
            counts[l] += 1
            for k in 0..<n { means[l * n + k] += Float(train.images.pixels[i * n + k]) }
        }
        for l in 0..<10 { for k in 0..<n { means[l * n + k] /= counts[l] } }
        var correct = [0, 0], total = [0, 0] // [easy, hard]
        for i in 0..<test.images.count {
            var best = (Float.infinity, -1)
            for l in 0..<10 {
                var d: Float = 0
                for k in 0..<n {
                    let e = Float(test.images.pixels[i * n + k]) - means[l * n + k]
                    d += e * e
                }
                if d < best.0 { best = (d, l) }
            }
            let h = test.hard[i] ? 1 : 0
            total[h] += 1
            if best.1 == test.images.label(i) { correct[h] += 1 }
        }
        let easyAcc = Double(correct[0]) / Double(total[0]), hardAcc = Double(correct[1]) / Double(total[1])
        print(String(format: "nearest class mean: easy %.3f (n=%d), hard %.3f (n=%d)", easyAcc, total[0], hardAcc, total[1]))
        XCTAssertGreaterThan(easyAcc, 0.8, "easy accuracy \(easyAcc) should be far above chance")
        XCTAssertLessThan(hardAcc, easyAcc - 0.4, "hard accuracy \(hardAcc) should be well below easy \(easyAcc)")
    }

    func testWriteRejectsBadArguments() throws {
        let dir = try makeTempDir(self)
        let msg = thrownMessage { try SyntheticCIFAR.write(to: dir, trainCount: 4, testCount: 10, seed: 0) }
        XCTAssertTrue(msg.contains("train count 4"), msg)
        let frac = thrownMessage { try SyntheticCIFAR.write(to: dir, trainCount: 10, testCount: 10, seed: 0, hardFraction: 1.5) }
        XCTAssertTrue(frac.contains("hard fraction 1.5"), frac)
    }
}
