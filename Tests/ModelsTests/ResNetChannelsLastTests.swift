import Layers
import Models
import Tensors
import XCTest

/// ResNet's eval-mode blocks on small maps channels-last (ConvTuning.channelsLastMaxPositions,
/// ResNetChannelsLast.swift) against every block in NCHW (the reference, 0), at 32x32 input where
/// layer2 runs on 4x4 maps (entered by a stride-2 block from 8x8), layer3 on 2x2 and layer4 on 1x1
/// (also with only layer3-4 channels-last, positions 4): the final
/// map, a range that starts channels-last and one that ends before layer4, and a backward after a
/// channels-last eval forward (it reruns the layers in NCHW). Random BatchNorm statistics;
/// tolerance 1e-4 relative to the largest reference value (+1e-5).
final class ResNetChannelsLastTests: XCTestCase {
    override func tearDown() { ConvTuning.channelsLastMaxPositions = 16 }

    let configs = [
        ResNetConfig(block: .basic, blocks: [1, 1, 2, 1], width: 8, numClasses: 10),
        ResNetConfig(block: .bottleneck, blocks: [1, 1, 2, 2], width: 4, numClasses: 10),
    ]

    func run(_ net: ResNet, _ x: Tensor, _ range: Range<Int>, channelsLast: Bool, positions: Int = 16) -> Tensor {
        ConvTuning.channelsLastMaxPositions = channelsLast ? positions : 0
        defer { ConvTuning.channelsLastMaxPositions = 16 }
        return net.forwardUnits(x, range, mode: .eval)
    }

    func assertClose(_ a: Tensor, _ b: Tensor, _ label: String) {
        XCTAssertEqual(a.shape, b.shape, label)
        let scale = b.data.reduce(Float(0)) { max($0, abs($1)) }
        XCTAssertLessThanOrEqual(a.maxAbsDifference(b), 1e-5 + 1e-4 * scale, label)
    }

    func testChannelsLastEvalEqualsNCHW() {
        for config in configs {
            let net = resNetWithRandomBatchNorm(config, seed: 11)
            var rng = SeededGenerator(seed: 12)
            let x = Tensor.normal([3, 3, 32, 32], rng: &rng)
            let all = 0..<net.unitCount
            let ref = run(net, x, all, channelsLast: false)
            XCTAssertEqual(Array(ref.shape.suffix(2)), [1, 1], "\(config.block): layer4 on 1x1 maps")
            XCTAssertGreaterThan(ref.data.filter { $0 > 0 }.count, ref.count / 10, "\(config.block): not all ReLU zeros")
            assertClose(run(net, x, all, channelsLast: true), ref, "\(config.block) whole net")
            assertClose(run(net, x, all, channelsLast: true, positions: 4), ref, "\(config.block) whole net, from layer3")
            // a range starting on 2x2 maps (layer3.1 onwards) and one ending before layer4
            let layer3 = 1 + config.blocks[0] + config.blocks[1]
            let mid = run(net, x, 0..<(layer3 + 1), channelsLast: false)
            XCTAssertEqual(Array(mid.shape.suffix(2)), [2, 2])
            assertClose(run(net, x, 0..<(layer3 + 1), channelsLast: true), mid, "\(config.block) up to layer3.0")
            assertClose(run(net, mid, (layer3 + 1)..<net.unitCount, channelsLast: true), ref, "\(config.block) from layer3.1")
        }
    }

    /// A backward after a channels-last eval forward gives the gradients of one after an NCHW one.
    func testBackwardAfterChannelsLastEval() {
        for config in configs {
            var grads: [[Float]] = []
            for channelsLast in [false, true] {
                let net = resNetWithRandomBatchNorm(config, seed: 13)
                var rng = SeededGenerator(seed: 14)
                let x = Tensor.normal([2, 3, 32, 32], rng: &rng)
                let y = run(net, x, 0..<net.unitCount, channelsLast: channelsLast)
                net.zeroGrad()
                _ = net.backwardUnits(Tensor.normal(y.shape, rng: &rng), 0..<net.unitCount)
                grads.append(net.namedParameters().flatMap { $0.1.grad.data })
            }
            let scale = grads[0].reduce(Float(0)) { max($0, abs($1)) }
            let diff = zip(grads[0], grads[1]).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertGreaterThan(scale, 0, "\(config.block): gradients flow")
            XCTAssertLessThanOrEqual(diff, 1e-5 * scale, "\(config.block): backward after channels-last eval")
        }
    }
}
