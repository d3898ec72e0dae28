import Foundation
import Layers
import Models
import Tensors
import WeightIO
import XCTest

/// PyTorch parity on the fixtures of Tests/Fixtures/models.py: reduced-width torchvision nets
/// (BasicBlock [2,2,2,2] width 4; Bottleneck [2,1,1,1] width 2) with the paper head and a
/// SideNet at layer1, 4 images of 32x32. Tolerances: logits 1e-4 relative to the largest
/// reference value (+1e-5), gradients 1e-3 relative (float32 sums in a different order).
final class ResNetParityTests: XCTestCase {
    let cases = ["resnet_basic", "resnet_bottleneck"]

    func testEvalLogits() throws {
        for name in cases {
            let f = try ResNetFixture(name)
            let m = try f.model()
            let x = f["input"]
            let a = m.forwardPrefix(x, mode: .eval)
            assertClose(a, f["eval.attach"], "\(name) activation at layer1")
            assertClose(m.sideLogits(a, mode: .eval), f["eval.side_logits"], "\(name) eval SideNet logits")
            assertClose(m.forwardRest(a, mode: .eval), f["eval.main_logits"], "\(name) eval MainNet logits")
            assertClose(m.headInputFeatures(x), f["eval.features"], "\(name) pooled features")
            let all = m.forwardAll(x, mode: .eval)
            assertClose(all.main, f["eval.main_logits"], "\(name) forwardAll main")
            assertClose(all.side[0], f["eval.side_logits"], "\(name) forwardAll side")
            let cached = m.cacheFeatures(x)
            assertClose(m.headLogits(cached.features, mode: .eval), f["eval.main_logits"], "\(name) head on cached features")
            assertClose(m.sideLogits(cached.attach[0], mode: .eval), f["eval.side_logits"], "\(name) side on cached activation")
        }
    }

    /// Train mode (batch statistics), L = CE(main) + CE(side): logits, loss, gradients of the
    /// input and of weights on both branches and the trunk, running statistics after the step.
    func testTrainModeLogitsAndGradients() throws {
        for name in cases {
            for usePrimitives in [false, true] {
                let f = try ResNetFixture(name)
                let m = try f.model()
                m.computesInputGradient = true
                m.zeroGrad()
                let x = f["input"]
                let main: Tensor, side: Tensor, dx: Tensor
                if usePrimitives {
                    let a = m.forwardPrefix(x, mode: .train)
                    side = m.sideLogits(a, mode: .train)
                    main = m.forwardRest(a, mode: .train)
                    let dA = add(m.backwardRest(crossEntropy(main, f.labels).grad),
                                 m.backwardSide(crossEntropy(side, f.labels).grad))
                    dx = m.backwardPrefix(dA)
                } else {
                    let out = m.forwardAll(x, mode: .train)
                    (main, side) = (out.main, out.side[0])
                    dx = m.backwardAll(main: crossEntropy(main, f.labels).grad, side: [crossEntropy(side, f.labels).grad])
                }
                let tag = "\(name)\(usePrimitives ? " (prefix/side/rest)" : " (forwardAll)")"
                assertClose(main, f["train.main_logits"], "\(tag) train main logits")
                assertClose(side, f["train.side_logits"], "\(tag) train side logits")
                let loss = crossEntropy(main, f.labels).loss + crossEntropy(side, f.labels).loss
                XCTAssertEqual(loss, f["train.loss"].data[0], accuracy: 1e-4, "\(tag) loss")
                assertClose(dx, f["grad.input"], atol: 1e-6, rtol: 1e-3, "\(tag) dL/dinput")
                let params = Dictionary(uniqueKeysWithValues: m.namedParameters())
                for key in ["conv1.weight", "layer1.0.bn1.weight", "layer1.0.conv1.weight", "layer4.0.conv2.weight",
                            "head.fc1.weight", "head.bn.weight", "head.fc2.bias", "sidenet.fc1.bias", "sidenet.fc2.weight"] {
                    assertClose(params[key]!.grad, f["grad." + key], atol: 1e-6, rtol: 1e-3, "\(tag) dL/d\(key)")
                }
                let buffers = Dictionary(uniqueKeysWithValues: m.namedBuffers())
                for key in ["bn1.running_mean", "bn1.running_var", "layer1.0.bn1.running_var", "sidenet.bn.running_mean",
                            "head.bn.running_var"] {
                    assertClose(buffers[key]!.value, f["after_train." + key], "\(tag) \(key) after one train forward")
                }
            }
        }
    }

    func testCheckpointRoundTrip() throws {
        let f = try ResNetFixture("resnet_basic")
        let m = try f.model()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sidenet-models-\(getpid()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try m.saveCheckpoint(to: url, metadata: ["arch": "test"])
        var rng = SeededGenerator(seed: 5)
        let m2 = try makeResNetModel(config: f.config, inputHeight: 32, inputWidth: 32, rng: &rng)
        XCTAssertGreaterThan(m2.forwardAll(f["input"], mode: .eval).main.maxAbsDifference(f["eval.main_logits"]), 1e-3)
        try m2.loadCheckpoint(from: url)
        assertClose(m2.forwardAll(f["input"], mode: .eval).main, f["eval.main_logits"], "reloaded checkpoint")
        // counters are written as I64 scalars, like PyTorch
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.tensors["layer1.0.bn1.num_batches_tracked"]?.dtype, .I64)
        XCTAssertEqual(try file.tensors["layer1.0.bn1.num_batches_tracked"]?.int64s(), [3])
        XCTAssertEqual(Set(file.tensors.keys), Set(m.stateDict().keys))
    }
}
