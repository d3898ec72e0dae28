import Foundation
import Layers
import Models
import Tensors
import WeightIO
import XCTest

/// VGG's avgpool (7x7) and classifier.0-5 in front of the MainNet head: PyTorch's adaptive
/// average pooling (Tests/Fixtures/models/vgg_pool.safetensors, written by models_vgg.py) for
/// the fast kernel and its plain reference, and the classifier's dropout masks drawn from the
/// model's seeded generator (reseeding replays them; backward uses the forward's masks).
final class VGGClassifierTests: XCTestCase {
    private func poolCases() throws -> [(x: Tensor, dout: Tensor, y: Tensor, dx: Tensor, size: [Int])] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models/vgg_pool.safetensors")
        let io = try SafeTensors.load(url)
        return try (0..<7).map { i in
            func t(_ k: String) throws -> Tensor { try XCTUnwrap(io["case\(i).\(k)"], "case\(i).\(k)") }
            return (try t("x"), try t("dout"), try t("y"), try t("dx"), try t("size").data.map { Int($0) })
        }
    }

    /// Forward and backward of `AdaptiveAvgPoolGrid` and of the plain reference against PyTorch,
    /// for inputs smaller than, equal to, larger than and not divisible by the output.
    func testAdaptivePoolingMatchesPyTorch() throws {
        for (i, c) in try poolCases().enumerated() {
            let pool = AdaptiveAvgPoolGrid(outputHeight: c.size[0], outputWidth: c.size[1])
            let y = pool.forward(c.x)
            XCTAssertEqual(y.shape, c.y.shape, "case \(i)")
            assertClose(y, c.y, atol: 1e-6, rtol: 1e-5, "case \(i) forward \(c.x.shape) -> \(c.size)")
            assertClose(pool.backward(c.dout), c.dx, atol: 1e-6, rtol: 1e-5, "case \(i) backward")
            assertClose(adaptiveAvgPool2dReference(c.x, outputHeight: c.size[0], outputWidth: c.size[1]), c.y,
                        atol: 1e-6, rtol: 1e-5, "case \(i) reference forward")
            assertClose(adaptiveAvgPool2dBackwardReference(c.dout, inputShape: c.x.shape), c.dx, atol: 1e-6, rtol: 1e-5,
                        "case \(i) reference backward")
        }
        XCTAssertEqual(adaptivePoolBins(input: 2, output: 7), [0..<1, 0..<1, 0..<1, 0..<2, 1..<2, 1..<2, 1..<2])
        XCTAssertEqual(adaptivePoolBins(input: 10, output: 7), [0..<2, 1..<3, 2..<5, 4..<6, 5..<8, 7..<9, 8..<10])
    }

    private func backbone(dropout: Double) throws -> VGG {
        let family = VGGFamily()
        let config = try family.canonicalConfig(FamilyConfig(["cfg": .string("A"), "batch_norm": .bool(true), "width": .int(2),
                                                              "dropout": .double(dropout)]))
        var rng = SeededGenerator(seed: 5)
        return try XCTUnwrap(try family.makeBackbone(config, context: MainNetContext(outputs: 10), rng: &rng) as? VGG)
    }

    private func lastMap(seed: UInt64) -> MainNetActivation {
        var rng = SeededGenerator(seed: seed)
        return MainNetActivation(Tensor.normal([3, 16, 2, 2], rng: &rng))
    }

    /// Train-mode masks come from the model's generator: the same after the same reseed, others
    /// after another; eval mode and dropout 0 use none.
    func testDropoutMasksReplayAfterReseed() throws {
        let vgg = try backbone(dropout: 0.5)
        let a = lastMap(seed: 1)
        let eval = vgg.headInput(a, mode: .eval)
        XCTAssertEqual(eval.shape, [3, 128])
        let g = SeededGenerator(seed: 42).derived("dropout-epoch0")
        vgg.reseedDropout(g)
        let first = vgg.headInput(a, mode: .train)
        let second = vgg.headInput(a, mode: .train)
        vgg.reseedDropout(g)
        XCTAssertEqual(vgg.headInput(a, mode: .train), first, "same generator, same masks")
        XCTAssertNotEqual(second, first, "the stream moves on between batches")
        vgg.reseedDropout(SeededGenerator(seed: 43).derived("dropout-epoch0"))
        XCTAssertNotEqual(vgg.headInput(a, mode: .train), first, "another generator, other masks")
        let zeros = first.data.filter { $0 == 0 }.count, evalZeros = eval.data.filter { $0 == 0 }.count
        XCTAssertGreaterThan(zeros, evalZeros + first.count / 5, "p = 0.5 drops about half of the ReLU's survivors")
        XCTAssertEqual(vgg.headInput(a, mode: .eval), eval, "eval mode has no dropout")
        let noDropout = try backbone(dropout: 0)
        XCTAssertEqual(noDropout.headInput(a, mode: .train), noDropout.headInput(a, mode: .eval))
    }

    /// Backward through classifier.5...avgpool with dropout on: the analytic gradients w.r.t. the
    /// last feature map and classifier.0 / classifier.3 weights equal central differences taken
    /// with the same masks replayed (reseeding before every forward).
    func testBackwardUsesTheForwardMasks() throws {
        let vgg = try backbone(dropout: 0.5)
        let a = lastMap(seed: 2)
        var wr = SeededGenerator(seed: 3)
        let w = Tensor.normal([3, 128], rng: &wr)
        let g = SeededGenerator(seed: 7)
        func loss(_ x: MainNetActivation) -> Double {
            vgg.reseedDropout(g)
            let out = vgg.headInput(x, mode: .train)
            return zip(out.data, w.data).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        vgg.zeroGrad()
        _ = loss(a)
        let da = vgg.headInputBackward(w)
        XCTAssertEqual(da.shape, a.tensor.shape)
        var x = a
        var numeric: [Double] = []
        for i in fdIndices(da, fixed: [0, 17]) {
            let n = centralDifference(at: a.tensor.data[i], h: 1e-3, set: { x.tensor.data[i] = $0 }, loss: { loss(x) })
            numeric.append(n)
            XCTAssertLessThan(fdRelativeError(numeric: n, analytic: Double(da.data[i]), floor: 1e-3), 1e-2, "dL/da[\(i)]")
        }
        assertSomeNonZero(numeric, floor: 1e-3, "dL/da")
        let params = Dictionary(uniqueKeysWithValues: vgg.namedParameters())
        for key in ["classifier.0.weight", "classifier.3.weight", "classifier.3.bias"] {
            let p = try XCTUnwrap(params[key], key)
            numeric = []
            for i in fdIndices(p.grad, fixed: [1], top: 2) {
                let v = p.value.data[i]
                let n = centralDifference(at: v, h: 1e-3, set: { p.value.data[i] = $0 }, loss: { loss(a) })
                numeric.append(n)
                XCTAssertLessThan(fdRelativeError(numeric: n, analytic: Double(p.grad.data[i]), floor: 1e-3), 1e-2, "dL/d\(key)[\(i)]")
            }
            assertSomeNonZero(numeric, floor: 1e-3, key)
        }
    }
}
