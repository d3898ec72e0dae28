import Foundation
import Layers
import Models
import Tensors
import WeightIO
import XCTest

/// Strict loading: missing, unexpected and mis-shaped tensors are rejected with messages naming
/// the key and both shapes; `num_batches_tracked` may be absent; `fc.*` is ignored with a warning.
final class ResNetWeightLoadingTests: XCTestCase {
    func checkpointTensors() throws -> (ResNetFixture, [String: StoredTensor]) {
        let f = try ResNetFixture("resnet_basic")
        return (f, try SafeTensorsFile(contentsOf: f.checkpoint).tensors)
    }

    func freshModel(_ f: ResNetFixture) throws -> SideNetModel {
        var rng = SeededGenerator(seed: 7)
        return try makeResNetModel(config: f.config, inputHeight: f.inputSize, inputWidth: f.inputSize, rng: &rng)
    }

    func testMissingKeyRejected() throws {
        let (f, t) = try checkpointTensors()
        var bad = t
        bad["layer2.0.downsample.0.weight"] = nil
        let m = try freshModel(f)
        let before = m.stateDict()
        XCTAssertThrowsError(try loadStateDict(into: m, stored: bad, source: "ckpt")) { e in
            XCTAssertEqual(e as? ModelError, .missingKey("layer2.0.downsample.0.weight", expectedShape: [8, 4, 1, 1], source: "ckpt"))
            XCTAssertTrue("\(e)".contains("layer2.0.downsample.0.weight") && "\(e)".contains("[8, 4, 1, 1]"), "\(e)")
        }
        XCTAssertEqual(m.stateDict(), before, "a failed load must not change the model")
    }

    func testUnexpectedKeyRejected() throws {
        let (f, t) = try checkpointTensors()
        var bad = t
        bad["layer1.0.conv3.weight"] = StoredTensor(Tensor(zeros: [4, 4, 1, 1]))
        XCTAssertThrowsError(try loadStateDict(into: try freshModel(f), stored: bad, source: "ckpt")) { e in
            XCTAssertEqual(e as? ModelError, .unexpectedKey("layer1.0.conv3.weight", shape: [4, 4, 1, 1], source: "ckpt"))
            XCTAssertTrue("\(e)".contains("layer1.0.conv3.weight") && "\(e)".contains("[4, 4, 1, 1]"), "\(e)")
        }
    }

    func testWrongShapeRejected() throws {
        let (f, t) = try checkpointTensors()
        var bad = t
        bad["sidenet.fc1.weight"] = StoredTensor(Tensor(zeros: [32, 255]))
        XCTAssertThrowsError(try loadStateDict(into: try freshModel(f), stored: bad, source: "ckpt")) { e in
            XCTAssertEqual(e as? ModelError, .shapeMismatch("sidenet.fc1.weight", expected: [32, 256], got: [32, 255], source: "ckpt"))
            let s = "\(e)"
            XCTAssertTrue(s.contains("sidenet.fc1.weight") && s.contains("[32, 256]") && s.contains("[32, 255]"), s)
        }
    }

    func testMissingBatchCounterDefaultsToZero() throws {
        let (f, t) = try checkpointTensors()
        let stripped = t.filter { !$0.key.hasSuffix("num_batches_tracked") }
        let m = try freshModel(f)
        let report = try loadStateDict(into: m, stored: stripped, source: "ckpt")
        XCTAssertEqual(report.defaultedKeys.count, t.count - stripped.count)
        XCTAssertTrue(report.defaultedKeys.contains("layer1.0.bn1.num_batches_tracked"))
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: m.namedBuffers())["bn1.num_batches_tracked"]!.value.data, [0])
        assertClose(m.forwardAll(f["input"], mode: .eval).main, f["eval.main_logits"], "logits without counters")
    }

    /// A torchvision-keyed state_dict into the backbone: `fc.*` skipped and reported, never printed.
    func testTorchvisionKeysIgnoreFC() throws {
        let (f, t) = try checkpointTensors()
        var tv = t.filter { !$0.key.hasPrefix("head.") && !$0.key.hasPrefix("sidenet.") }
        tv["fc.weight"] = StoredTensor(Tensor(zeros: [10, 32]))
        tv["fc.bias"] = StoredTensor(Tensor(zeros: [10]))
        let m = try f.model()
        let net = try freshModel(f)
        let report = try net.loadPretrained(tv, source: "resnet.pth")
        XCTAssertEqual(report.ignoredKeys, ["fc.bias", "fc.weight"])
        XCTAssertTrue(report.warning?.contains("fc.weight") ?? false)
        assertClose(net.headInputFeatures(f["input"]), m.headInputFeatures(f["input"]), "features after torchvision load")
        // a net that has an fc loads it strictly
        var rng = SeededGenerator(seed: 3)
        let withFC = ResNet(config: f.config, includeFC: true, rng: &rng)
        XCTAssertTrue(try withFC.loadTorchvision(tv, source: "resnet.pth").ignoredKeys.isEmpty)
        tv["fc.bias"] = nil
        XCTAssertThrowsError(try withFC.loadTorchvision(tv, source: "resnet.pth")) { e in
            XCTAssertEqual(e as? ModelError, .missingKey("fc.bias", expectedShape: [10], source: "resnet.pth"))
        }
    }
}

/// `torch.save(state_dict)` files of the torchvision-keyed fixture nets (basic: with
/// num_batches_tracked; bottleneck: counters removed like the V1 hub files).
final class ResNetTorchFileTests: XCTestCase {
    func testLoadTorchSavedStateDict() throws {
        for name in ["resnet_basic", "resnet_bottleneck"] {
            let f = try ResNetFixture(name)
            var rng = SeededGenerator(seed: 11)
            // plain torchvision net with its fc: logits equal PyTorch's
            let tv = ResNet(config: f.config, includeFC: true, rng: &rng)
            let report = try tv.loadTorchvision(from: f.torchvisionPth)
            XCTAssertTrue(report.ignoredKeys.isEmpty, name)
            XCTAssertEqual(report.defaultedKeys.isEmpty, name == "resnet_basic", "\(name): \(report.defaultedKeys)")
            assertClose(tv.forward(f["input"], mode: .eval), f["tv.eval.logits"], "\(name) torchvision logits from .pth")
            // SideNet model: backbone from the .pth, fc ignored with a warning
            let m = try makeResNetModel(config: f.config, inputHeight: 32, inputWidth: 32, rng: &rng)
            let r2 = try m.loadPretrained(from: f.torchvisionPth)
            XCTAssertEqual(r2.ignoredKeys, ["fc.bias", "fc.weight"], name)
            XCTAssertNotNil(r2.warning)
            assertClose(m.headInputFeatures(f["input"]), f["eval.features"], "\(name) features from .pth")
        }
    }
}
