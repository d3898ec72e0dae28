import Datasets
import Foundation
import Tensors
import XCTest

/// Bilinear resize against PyTorch F.interpolate(mode="bilinear", align_corners=False).
final class ResizeTests: XCTestCase {
    let tolerance: Float = 1e-5

    func testResizeMatchesPyTorchFixture() throws {
        let fx = try FixtureTensors(imageFixtureDir.appendingPathComponent("resize.safetensors"))
        for name in ["up224", "up_odd", "down", "down_big", "mixed"] {
            let x = fx.float(name + ".x"), want = fx.float(name + ".y")
            let got = BilinearResize.resize(x, height: want.shape[2], width: want.shape[3])
            XCTAssertEqual(got.shape, want.shape, name)
            let diff = got.maxAbsDifference(want)
            print("resize \(name) \(x.shape) -> \(want.shape): max diff \(diff)")
            XCTAssertLessThan(diff, tolerance, "\(name): max diff \(diff) vs PyTorch")
        }
    }

    func testFastKernelMatchesReferenceLoop() {
        var g = SeededGenerator(seed: 5)
        let x = Tensor.uniform([2, 3, 11, 9], low: 0, high: 1, rng: &g)
        for (h, w) in [(24, 24), (5, 4), (11, 20), (1, 1)] {
            let fast = BilinearResize.resize(x, height: h, width: w)
            let ref = BilinearResize.referenceResize(x, height: h, width: w)
            let diff = fast.maxAbsDifference(ref)
            XCTAssertLessThan(diff, 1e-6, "\(h)x\(w): max diff \(diff)")
        }
    }

    func testConstantImageStaysConstantAndSameSizeIsIdentity() {
        let x = Tensor(shape: [1, 1, 4, 4], repeating: 0.25)
        let up = BilinearResize.resize(x, height: 9, width: 13)
        XCTAssertEqual(up.data.max()!, 0.25, accuracy: 1e-7)
        XCTAssertEqual(up.data.min()!, 0.25, accuracy: 1e-7)
        var g = SeededGenerator(seed: 1)
        let y = Tensor.uniform([1, 2, 5, 5], low: 0, high: 1, rng: &g)
        XCTAssertEqual(BilinearResize.resize(y, height: 5, width: 5), y)
    }

    /// bytes -> /255 -> resize 48 -> ImageNet normalisation, as torchvision computes it.
    func testPreprocessingPipelineMatchesPyTorch() throws {
        let fx = try FixtureTensors(imageFixtureDir.appendingPathComponent("resize.safetensors"))
        let (shape, bytes) = fx.bytes("pipeline.u8")
        XCTAssertEqual(shape, [2, 3, 32, 32])
        let want = fx.float("pipeline.y")
        let images = CIFARImages(pixels: bytes, labels: [3, 7])
        let batch = images.batch([0, 1], preprocessing: ImagePreprocessing(resizeTo: 48, normalization: .imagenet))
        XCTAssertEqual(batch.labels, [3, 7])
        let diff = batch.images.maxAbsDifference(want)
        print("pipeline max diff \(diff)")
        XCTAssertLessThan(diff, 1e-4, "pipeline max diff \(diff) (normalised units, tolerance 1e-4)")
    }
}
