import Foundation
import Layers
import Models
import Tensors
import WeightIO
import XCTest

/// The VGG family, built through the registry alone, against PyTorch (Tests/Fixtures/models_vgg.py:
/// reduced-width torchvision vgg11_bn at 32x32 / vgg11 at 64x64 with avgpool 7x7 and
/// classifier.0-5, the paper head in place of classifier.6, a SideNet after features.7 /
/// features.5, 4 images). Tolerances as ResNetParityTests: logits 1e-4 relative, gradients 1e-3
/// relative. Train mode is compared with dropout 0 (the masks are tested in VGGClassifierTests).
final class VGGParityTests: XCTestCase {
    struct Case {
        let name: String, dir: URL, meta: [String: Any], io: [String: Tensor]
        init(_ name: String) throws {
            self.name = name
            dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/models/\(name)")
            meta = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
            io = try SafeTensors.load(dir.appendingPathComponent("io.safetensors"))
        }
        subscript(_ k: String) -> Tensor { io[k]! }
        var labels: [Int] { self["labels"].data.map { Int($0) } }
        var attach: String { meta["attach"] as! String }

        /// A fresh model of the fixture's shape, made by the registry from the spec-style config.
        func freshModel(seed: UInt64 = 9) throws -> SideNetModel {
            let family = try MainNetRegistry.requireFamily(forArch: "vgg")
            let config = try family.canonicalConfig(FamilyConfig(["cfg": .string(meta["cfg"] as! String),
                                                                  "batch_norm": .bool(meta["batch_norm"] as! Bool),
                                                                  "width": .int(meta["width"] as! Int),
                                                                  "dropout": .double(meta["dropout"] as! Double)]))
            return try family.makeModel(config, context: MainNetContext(inputSize: meta["input_size"] as! Int,
                                                                        outputs: meta["classes"] as! Int),
                                        attach: [attach], hidden: meta["hidden"] as! Int, seed: seed)
        }

        func model() throws -> SideNetModel {
            let m = try freshModel()
            try m.loadCheckpoint(from: dir.appendingPathComponent("checkpoint.safetensors"))
            return m
        }
    }

    let cases = ["vgg_bn", "vgg_plain"]

    func testEvalLogits() throws {
        for name in cases {
            let f = try Case(name)
            let m = try f.model()
            let x = MainNetActivation(images: f["input"])
            assertClose(try m.forwardPrefix(x, mode: .eval).tensor, f["eval.attach"], "\(name) activation at \(f.attach)")
            let all = try m.forwardAll(x, mode: .eval)
            assertClose(all.main, f["eval.main_logits"], "\(name) eval MainNet logits")
            assertClose(all.side[0], f["eval.side_logits"], "\(name) eval SideNet logits")
            assertClose(try m.forwardMain(x, mode: .eval), f["eval.main_logits"], "\(name) MainNet alone")
            let cached = try m.cacheFeatures(x)
            assertClose(cached.features, f["eval.head_input"], "\(name) classifier.5 output (the head's input)")
            assertClose(m.head.forward(cached.features, mode: .eval), f["eval.main_logits"], "\(name) head on cached features")
            m.clearCaches()
        }
    }

    /// Train mode, L = CE(main) + CE(side): logits, loss, dL/dinput, weight gradients on both
    /// branches and the trunk, BatchNorm running statistics after the step.
    func testTrainModeLogitsAndGradients() throws {
        for name in cases {
            let f = try Case(name)
            let m = try f.model()
            m.computesInputGradient = true
            m.zeroGrad()
            let out = try m.forwardAll(MainNetActivation(images: f["input"]), mode: .train)
            let dx = m.backwardAll(main: crossEntropy(out.main, f.labels).grad, side: [crossEntropy(out.side[0], f.labels).grad])
            assertClose(out.main, f["train.main_logits"], "\(name) train main logits")
            assertClose(out.side[0], f["train.side_logits"], "\(name) train side logits")
            let loss = crossEntropy(out.main, f.labels).loss + crossEntropy(out.side[0], f.labels).loss
            XCTAssertEqual(loss, f["train.loss"].data[0], accuracy: 1e-4, "\(name) loss")
            assertClose(dx, f["grad.input"], atol: 1e-6, rtol: 1e-3, "\(name) dL/dinput")
            let params = Dictionary(uniqueKeysWithValues: m.namedParameters())
            let buffers = Dictionary(uniqueKeysWithValues: m.namedBuffers())
            var checked = 0
            for (k, ref) in f.io {
                if k.hasPrefix("grad."), k != "grad.input" {
                    let key = String(k.dropFirst(5))
                    assertClose(try XCTUnwrap(params[key], key).grad, ref, atol: 1e-6, rtol: 1e-3, "\(name) dL/d\(key)")
                    checked += 1
                } else if k.hasPrefix("after_train.") {
                    let key = String(k.dropFirst(12))
                    assertClose(try XCTUnwrap(buffers[key], key).value, ref, "\(name) \(key) after one train forward")
                    checked += 1
                }
            }
            XCTAssertGreaterThanOrEqual(checked, 16, "\(name): gradients and statistics compared")
            XCTAssertNotNil(f.io["grad.classifier.0.weight"] ?? nil, "\(name): classifier.0 gradient in the fixture")
        }
    }

    /// torchvision-keyed .pth files load by name into the backbone (features.* and classifier.0/.3);
    /// `classifier.6`, which the head replaces, is skipped and reported; a missing tensor names its key.
    func testTorchvisionFileLoadsByName() throws {
        for name in cases {
            let f = try Case(name)
            let m = try f.freshModel(seed: 1)
            let report = try m.loadPretrained(from: f.dir.appendingPathComponent("torchvision.pth"))
            XCTAssertEqual(report.ignoredKeys, ["classifier.6.bias", "classifier.6.weight"])
            XCTAssertEqual(m.weightNaming.warnings(report, source: "torchvision.pth").count, 1)
            let reference = try f.model().backbone.stateDict()
            XCTAssertEqual(m.backbone.stateDict(), reference, "\(name): backbone as in the checkpoint")
            XCTAssertNotNil(reference["classifier.3.weight"], "\(name): classifier.3 is part of the backbone")
            var stored = try WeightFile.load(f.dir.appendingPathComponent("torchvision.pth"))
            stored["features.0.bias"] = nil
            XCTAssertThrowsError(try f.freshModel().loadPretrained(stored, source: "tv.pth")) { e in
                XCTAssertEqual(e as? ModelError, .missingKey("features.0.bias", expectedShape: [f.meta["width"] as! Int], source: "tv.pth"))
            }
        }
    }

    /// Parameter totals of torchvision's VGGs (with their ImageNet classifier), and the built
    /// backbone's parameters equal to the plan's.
    func testParameterTotalsMatchTorchvision() throws {
        let family = VGGFamily()
        let torchvision = ["vgg11": 132_863_336, "vgg11_bn": 132_868_840, "vgg13": 133_047_848, "vgg13_bn": 133_053_736,
                           "vgg16": 138_357_544, "vgg16_bn": 138_365_992, "vgg19": 143_667_240, "vgg19_bn": 143_678_248]
        XCTAssertEqual(Set(family.presetNames), Set(torchvision.keys))
        for (arch, total) in torchvision {
            let config = try XCTUnwrap(family.presetConfig(arch))
            XCTAssertEqual(try family.plan(config, context: MainNetContext(inputSize: 224, outputs: 1000)).reference.cost.parameters,
                           total, arch)
        }
        // avgpool + classifier.0-5 are the cost between the last unit and the head (in the remainder)
        let vgg16 = try family.plan(try XCTUnwrap(family.presetConfig("vgg16_bn")), context: MainNetContext(inputSize: 32, outputs: 10))
        XCTAssertEqual(vgg16.headFeatures, 4096)
        XCTAssertEqual(vgg16.headInputCost, ComputeCost(parameters: 25088 * 4096 + 4096 + 4096 * 4096 + 4096, macs: 25088 * 4096 + 4096 * 4096))
        let split = vgg16.breakdown(attachUnit: 13, sideHidden: 32, headHidden: 32, outputs: 10)
        XCTAssertEqual(split.prefix.parameters + split.rest.parameters, 138_365_992 - (4096 * 1000 + 1000))
        XCTAssertEqual(split.head.parameters, 4096 * 32 + 32 + 64 + 32 * 10 + 10)
        let tiny = try family.canonicalConfig(FamilyConfig(["cfg": .string("E"), "batch_norm": .bool(true), "width": .int(8)]))
        var rng = SeededGenerator(seed: 1)
        let built = try family.makeBackbone(tiny, context: MainNetContext(outputs: 10), rng: &rng)
        let plan = try family.plan(tiny, context: MainNetContext(outputs: 10))
        XCTAssertEqual(built.parameterCount, plan.backbone.parameters)
        XCTAssertEqual(built.unitCount, plan.unitCosts.count)
        XCTAssertEqual(try family.defaultAttachPoint(try XCTUnwrap(family.presetConfig("vgg16_bn"))), "features.13")
        XCTAssertEqual(tiny["dropout"], .double(0.5), "torchvision's VGG(dropout=0.5) by default")
        XCTAssertThrowsError(try family.canonicalConfig(FamilyConfig(["cfg": .string("A"), "dropout": .double(1)]))) { e in
            XCTAssertEqual((e as? FamilyConfigError)?.field, "dropout", "\(e)")
        }
        XCTAssertThrowsError(try family.attachUnit("features.99", config: tiny)) { e in
            XCTAssertTrue("\(e)".contains("features.99") && "\(e)".contains("features.6"), "\(e)")
        }
    }
}
