import Datasets
import Foundation
import Tensors
import XCTest

/// Validation hold-out, per-epoch shuffling, batching and normalisation.
final class CIFARBatchingTests: XCTestCase {
    func testHoldOutSizesDisjointAndDeterministic() throws {
        let a = try CIFARSplits(trainCount: 50_000, testCount: 10_000, validationCount: 5_000, seed: 7)
        XCTAssertEqual(a.train.count, 45_000)
        XCTAssertEqual(a.validation.count, 5_000)
        XCTAssertEqual(a.test, Array(0..<10_000))
        XCTAssertEqual(Set(a.train).union(a.validation), Set(0..<50_000))
        XCTAssertTrue(Set(a.train).isDisjoint(with: a.validation))
        XCTAssertEqual(a, try CIFARSplits(trainCount: 50_000, testCount: 10_000, validationCount: 5_000, seed: 7))
        let b = try CIFARSplits(trainCount: 50_000, testCount: 10_000, validationCount: 5_000, seed: 8)
        XCTAssertNotEqual(a.validation, b.validation)
        XCTAssertNotEqual(a.validation, Array(0..<5_000), "validation must be drawn at random")
        XCTAssertThrowsError(try CIFARSplits(trainCount: 10, testCount: 1, validationCount: 10, seed: 1)) { e in
            XCTAssertTrue("\(e)".contains("validation size 10"), "\(e)")
        }
    }

    func testBatchesCoverEachIndexOncePerEpochAndReshuffle() {
        let indices = Array(stride(from: 3, to: 1003, by: 2)) // 500 arbitrary indices
        var orders: [[Int]] = []
        for epoch in 0..<3 {
            let bs = Batching.batches(indices: indices, batchSize: 64, shuffleSeed: 11, epoch: epoch)
            XCTAssertEqual(bs.count, 8)
            XCTAssertEqual(bs.dropLast().map(\.count), [Int](repeating: 64, count: 7))
            XCTAssertEqual(bs.last!.count, 500 - 7 * 64)
            let flat = bs.flatMap { $0 }
            XCTAssertEqual(flat.sorted(), indices, "epoch \(epoch) must visit every index exactly once")
            XCTAssertEqual(flat, Batching.batches(indices: indices, batchSize: 64, shuffleSeed: 11, epoch: epoch).flatMap { $0 })
            orders.append(flat)
        }
        XCTAssertNotEqual(orders[0], orders[1])
        XCTAssertNotEqual(orders[1], orders[2])
        XCTAssertNotEqual(orders[0], indices)
        let other = Batching.batches(indices: indices, batchSize: 64, shuffleSeed: 12, epoch: 0).flatMap { $0 }
        XCTAssertNotEqual(other, orders[0])
        // No seed: evaluation order; dropLast drops the short tail.
        XCTAssertEqual(Batching.batches(indices: indices, batchSize: 64, shuffleSeed: nil, epoch: 5).flatMap { $0 }, indices)
        XCTAssertEqual(Batching.batches(indices: indices, batchSize: 64, shuffleSeed: 1, epoch: 0, dropLast: true).count, 7)
    }

    func testNormalisationOnAKnownPixel() throws {
        XCTAssertEqual(try ImageNormalization(name: "ImageNet"), .imagenet)
        XCTAssertEqual(try ImageNormalization(name: "cifar"), .cifar)
        XCTAssertEqual(try ImageNormalization(name: "none"), .none)
        let msg = thrownMessage { _ = try ImageNormalization(name: "kuangliu") }
        XCTAssertTrue(msg.contains("kuangliu") && msg.contains("imagenet, cifar, none"), msg)

        var pixels = [UInt8](repeating: 0, count: 3072)
        pixels[0 * 1024 + 2 * 32 + 3] = 200 // R at (y 2, x 3)
        pixels[1 * 1024 + 2 * 32 + 3] = 100 // G
        pixels[2 * 1024 + 2 * 32 + 3] = 255 // B
        let img = CIFARImages(pixels: pixels, labels: [4])
        let cases: [(ImageNormalization, [Float])] = [
            (.imagenet, [(200 / 255 - 0.485) / 0.229, (100 / 255 - 0.456) / 0.224, (1 - 0.406) / 0.225]),
            (.cifar, [(200 / 255 - 0.49139968) / 0.24703223, (100 / 255 - 0.48215841) / 0.24348513,
                      (1 - 0.44653091) / 0.26158784]),
            (.none, [200 / 255, 100 / 255, 1]),
        ]
        for (norm, want) in cases {
            let b = img.batch([0], preprocessing: ImagePreprocessing(normalization: norm))
            XCTAssertEqual(b.labels, [4])
            for c in 0..<3 {
                XCTAssertEqual(b.images[0, c, 2, 3], want[c], accuracy: 1e-5, "\(norm) channel \(c)")
            }
        }
        // Hand values: ImageNet R of byte 200 = (0.784314 - 0.485) / 0.229 = 1.307048.
        XCTAssertEqual(img.batch([0], preprocessing: ImagePreprocessing(normalization: .imagenet)).images[0, 0, 2, 3],
                       1.307048, accuracy: 1e-5)
        // A zero pixel maps to -mean/std.
        XCTAssertEqual(img.batch([0], preprocessing: ImagePreprocessing(normalization: .cifar)).images[0, 1, 0, 0],
                       -0.48215841 / 0.24348513, accuracy: 1e-5)
    }

    func testBatchWithResizeHasModelShapeAndLabels() {
        let gen = SyntheticCIFAR.generate(count: 12, seed: 2, hardFraction: 0.5, split: "test")
        let b = gen.images.batch([5, 1, 7], preprocessing: ImagePreprocessing(resizeTo: 64, normalization: .cifar))
        XCTAssertEqual(b.images.shape, [3, 3, 64, 64])
        XCTAssertEqual(b.labels, [5, 1, 7].map { gen.images.label($0) })
        XCTAssertEqual(b.indices, [5, 1, 7])
        let direct = BilinearResize.resize(gen.images.floatImages([1]), height: 64, width: 64)
        var want = direct
        ImageNormalization.cifar.apply(&want)
        let diff = b.images.rows(1..<2).maxAbsDifference(want)
        XCTAssertLessThan(diff, 1e-6, "max diff \(diff)")
    }
}
