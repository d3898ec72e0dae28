import Layers
import Models
import Tensors
import XCTest

/// Eval-mode BatchNorm folded into the convolutions (ConvTuning.foldBatchNorm, ConvBatchNormFold.swift)
/// against the layers in turn, on whole ResNets with random BatchNorm statistics and affine
/// parameters: BasicBlock [1,1,1,1] at 32x32 (Winograd 8x8 and 4x4 maps, stride-2 im2col, tap
/// classes on 2x2, the centre tap on 1x1) and Bottleneck [1,1,1,1] at 64x64 (1x1 convolutions on
/// 16x16 maps as one GEMM per image, 1x1 stride-2 downsamples). Tolerance: 1e-4 relative to the
/// largest reference value (+1e-5) on the last feature map (the folded weights round differently).
/// (Folded eval runs blocks on 4x4 maps and smaller channels-last: ResNetChannelsLastTests holds
/// that equal to the folded NCHW blocks.)
final class ResNetFoldingTests: XCTestCase {
    override func tearDown() { ConvTuning.foldBatchNorm = true }

    let cases: [(ResNetConfig, Int)] = [
        (ResNetConfig(block: .basic, blocks: [1, 1, 1, 1], width: 8, numClasses: 10), 32),
        (ResNetConfig(block: .bottleneck, blocks: [1, 1, 1, 1], width: 4, numClasses: 10), 64),
    ]

    /// The last feature map in eval mode, folded or by the layers in turn.
    func evalFeatures(_ net: ResNet, _ x: Tensor, fold: Bool) -> Tensor {
        ConvTuning.foldBatchNorm = fold
        defer { ConvTuning.foldBatchNorm = true }
        return net.forwardUnits(x, 0..<net.unitCount, mode: .eval)
    }

    func testFoldedEvalEqualsLayers() {
        for (config, size) in cases {
            let net = resNetWithRandomBatchNorm(config, seed: 3)
            var rng = SeededGenerator(seed: 4)
            let x = Tensor.normal([3, 3, size, size], rng: &rng)
            let ref = evalFeatures(net, x, fold: false), folded = evalFeatures(net, x, fold: true)
            assertClose(folded, ref, "\(config.block) folded eval features")
            XCTAssertGreaterThan(ref.data.filter { $0 > 0 }.count, ref.count / 10, "\(config.block): the features are not all ReLU zeros")
            // again from the cached folded weights
            assertClose(evalFeatures(net, x, fold: true), ref, "\(config.block) folded eval features, second call")
        }
    }

    /// An update like an optimizer's (in place through `value.data`, as Adam writes it).
    func step(_ value: inout [Float], _ grad: [Float], lr: Float) { for i in value.indices { value[i] -= lr * grad[i] } }

    /// After eval (folded weights built), a train-mode step (running statistics move) and an
    /// in-place update of every parameter: the next folded eval equals the layers on the new values.
    func testFoldInvalidatesAfterTrainingStep() {
        for (config, size) in cases {
            let net = resNetWithRandomBatchNorm(config, seed: 5)
            var rng = SeededGenerator(seed: 6)
            let x = Tensor.normal([4, 3, size, size], rng: &rng)
            let before = evalFeatures(net, x, fold: true)
            let a = net.forwardUnits(x, 0..<net.unitCount, mode: .train)
            net.zeroGrad()
            _ = net.backwardUnits(Tensor.normal(a.shape, rng: &rng), 0..<net.unitCount)
            for (_, p) in net.namedParameters() { step(&p.value.data, p.grad.data, lr: 0.05) }
            let ref = evalFeatures(net, x, fold: false), folded = evalFeatures(net, x, fold: true)
            XCTAssertGreaterThan(ref.maxAbsDifference(before), 1e-2, "\(config.block): the step changed the eval output")
            assertClose(folded, ref, "\(config.block) folded eval after a training step")
        }
    }

    /// Each source of the folded values alone: running statistics (a train-mode forward), a
    /// BatchNorm γ, a convolution weight (both written in place).
    func testFoldInvalidatesOnEachSource() {
        let (config, size) = cases[0]
        var rng = SeededGenerator(seed: 7)
        let x = Tensor.normal([2, 3, size, size], rng: &rng)
        let changes: [(String, (ResNet) -> Void)] = [
            ("running statistics", { net in _ = net.forwardUnits(x, 0..<net.unitCount, mode: .train) }),
            ("BatchNorm γ", { net in for (k, p) in net.namedParameters() where k.hasSuffix("bn2.weight") { p.value.data[0] *= -2 } }),
            ("conv weight", { net in for (k, p) in net.namedParameters() where k.hasSuffix("conv1.weight") && k.hasPrefix("layer") { p.value.data[0] += 3 } }),
        ]
        for (what, change) in changes {
            let net = resNetWithRandomBatchNorm(config, seed: 8)
            let before = evalFeatures(net, x, fold: true)
            change(net)
            let ref = evalFeatures(net, x, fold: false)
            XCTAssertGreaterThan(ref.maxAbsDifference(before), 1e-4, "changing the \(what) changed the eval output")
            assertClose(evalFeatures(net, x, fold: true), ref, "folded eval after changing the \(what)")
        }
    }

    /// Folding never touches training: a train-mode forward and backward (after a folded eval
    /// forward) give exactly the outputs, gradients and running statistics of the unfolded run;
    /// a backward right after a folded eval forward (which first reruns the layers) agrees with the
    /// one after the layers' eval forward.
    func testTrainingAndEvalBackwardUnchanged() {
        for (config, size) in cases {
            var runs: [(y: Tensor, dx: Tensor, grads: [Tensor], buffers: [Tensor], evalDx: Tensor, evalGrads: [Tensor])] = []
            for fold in [false, true] {
                let net = resNetWithRandomBatchNorm(config, seed: 9)
                net.computesInputGradient = true
                var rng = SeededGenerator(seed: 10)
                let x = Tensor.normal([3, 3, size, size], rng: &rng)
                ConvTuning.foldBatchNorm = fold
                _ = net.forwardUnits(x, 0..<net.unitCount, mode: .eval)
                net.zeroGrad()
                let y = net.forwardUnits(x, 0..<net.unitCount, mode: .train)
                let dy = Tensor.normal(y.shape, rng: &rng)
                let dx = net.backwardUnits(dy, 0..<net.unitCount)
                let grads = net.namedParameters().map { $0.1.grad }, buffers = net.namedBuffers().map { $0.1.value }
                let e = net.forwardUnits(x, 0..<net.unitCount, mode: .eval)
                net.zeroGrad()
                let evalDx = net.backwardUnits(Tensor.normal(e.shape, rng: &rng), 0..<net.unitCount)
                runs.append((y, dx, grads, buffers, evalDx, net.namedParameters().map { $0.1.grad }))
                ConvTuning.foldBatchNorm = true
            }
            let (plain, folded) = (runs[0], runs[1])
            XCTAssertEqual(folded.y, plain.y, "\(config.block) train-mode output")
            XCTAssertEqual(folded.dx, plain.dx, "\(config.block) train-mode input gradient")
            XCTAssertEqual(folded.grads, plain.grads, "\(config.block) train-mode parameter gradients")
            XCTAssertEqual(folded.buffers, plain.buffers, "\(config.block) running statistics")
            // After an eval forward the blocks' inputs are the folded blocks' outputs (rounding apart):
            // the gradients agree to float32 rounding, not bit for bit.
            assertClose(folded.evalDx, plain.evalDx, "\(config.block) input gradient after an eval forward")
            for (k, (g, ref)) in zip(folded.evalGrads, plain.evalGrads).enumerated() {
                assertClose(g, ref, atol: 1e-5, rtol: 1e-3, "\(config.block) gradient of parameter \(k) after an eval forward")
            }
        }
    }
}
