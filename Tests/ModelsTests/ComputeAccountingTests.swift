import Layers
import Models
import Tensors
import XCTest

/// Parameter totals against torchvision's published `num_params`, FLOPs against a PyTorch
/// forward-hook count (conv + linear multiply-adds only), and the analytic plan against the
/// built modules.
final class ComputeAccountingTests: XCTestCase {
    func testTorchvisionParameterTotals() {
        // torchvision docs num_params (1000 classes) and formats.md 5.2 (10 classes)
        let expected: [(String, Int, Int)] = [
            ("resnet18", 11_689_512, 11_181_642), ("resnet34", 21_797_672, 21_289_802),
            ("resnet50", 25_557_032, 23_528_522), ("resnet101", 44_549_160, 42_520_650),
            ("resnet152", 60_192_808, 58_164_298),
        ]
        for (name, p1000, p10) in expected {
            let a = ResNetPlan(config: ResNetConfig.preset(name)!, height: 224, width: 224).total.parameters
            XCTAssertEqual(a, p1000, name)
            let b = ResNetPlan(config: ResNetConfig.preset(name, numClasses: 10)!, height: 32, width: 32).total.parameters
            XCTAssertEqual(b, p10, "\(name) with 10 classes")
        }
    }

    func testMACsMatchPyTorchHookCount() {
        // conv + linear MACs per image counted with forward hooks on the torchvision-identical
        // classes in Tests/Fixtures/models.py (1000-class fc).
        let expected: [(String, Int, Int)] = [
            ("resnet18", 37_523_456, 1_814_073_344), ("resnet34", 75_272_192, 3_663_761_408),
            ("resnet50", 85_458_944, 4_089_184_256), ("resnet101", 161_218_560, 7_801_405_440),
            ("resnet152", 236_978_176, 11_513_626_624),
        ]
        for (name, m32, m224) in expected {
            let c = ResNetConfig.preset(name)!
            XCTAssertEqual(ResNetPlan(config: c, height: 32, width: 32).total.macs, m32, "\(name) 32x32")
            XCTAssertEqual(ResNetPlan(config: c, height: 224, width: 224).total.macs, m224, "\(name) 224x224")
        }
        // bench/pytorch-cpu-2core.md quotes FLOPs = 2 x MACs with a 10-class fc:
        // ResNet18 0.074 G (32x32) / 3.63 G (224), ResNet50 0.167 G, ResNet152 0.470 G.
        let r18 = ResNetPlan(config: .resnet18(numClasses: 10), height: 32, width: 32).total.flops
        XCTAssertEqual(Double(r18) / 1e9, 0.074, accuracy: 0.0005)
        let r18big = ResNetPlan(config: .resnet18(numClasses: 10), height: 224, width: 224).total.flops
        XCTAssertEqual(Double(r18big) / 1e9, 3.63, accuracy: 0.005)
        let r50 = ResNetPlan(config: .resnet50(numClasses: 10), height: 32, width: 32).total.flops
        XCTAssertEqual(Double(r50) / 1e9, 0.167, accuracy: 0.0005)
        let r152 = ResNetPlan(config: .resnet152(numClasses: 10), height: 32, width: 32).total.flops
        XCTAssertEqual(Double(r152) / 1e9, 0.470, accuracy: 0.0005)
    }

    func testPlanMatchesBuiltModules() throws {
        var rng = SeededGenerator(seed: 1)
        for name in ["resnet-tiny-basic", "resnet-tiny-bottleneck", "resnet18"] {
            let c = ResNetConfig.preset(name, numClasses: 10)!
            let net = ResNet(config: c, includeFC: true, rng: &rng)
            let plan = ResNetPlan(config: c, height: 32, width: 32)
            XCTAssertEqual(net.parameterCount, plan.total.parameters, name)
            // every unit's parameter count, by key prefix
            let params = net.namedParameters()
            for unit in plan.units where unit.name != "stem" {
                let n = params.filter { $0.0.hasPrefix(unit.name + ".") }.reduce(0) { $0 + $1.1.value.count }
                XCTAssertEqual(n, unit.cost.parameters, "\(name) \(unit.name)")
            }
        }
        let r18 = ResNet(config: .resnet18(), rng: &rng)
        XCTAssertEqual(r18.namedParameters().count, 62)
        XCTAssertEqual(r18.stateDict().count, 122)   // formats.md 5.2: keys with num_batches_tracked
    }

    func testBreakdownAtLayer1() throws {
        let c = ResNetConfig.resnet18(numClasses: 10)
        let plan = ResNetPlan(config: c, height: 32, width: 32)
        let b = plan.breakdown(attach: .layer1)
        // layer1 output of ResNet18 at 32x32: [64, 8, 8] -> SideNet 4096 -> 32 -> 10
        XCTAssertEqual(plan.activationShape(.layer1), [64, 8, 8])
        XCTAssertEqual(b.sideNet.parameters, 4096 * 32 + 32 + 64 + 32 * 10 + 10)
        XCTAssertEqual(b.sideNet.macs, 4096 * 32 + 32 * 10)
        XCTAssertEqual(b.head.parameters, 512 * 32 + 32 + 64 + 320 + 10)
        // prefix = conv1 + bn1 + layer1 (2 blocks of 2 convs 64->64 3x3 + 2 BN each)
        XCTAssertEqual(b.prefix.parameters, 64 * 3 * 49 + 128 + 4 * (64 * 64 * 9 + 128))
        XCTAssertEqual(b.prefix.parameters + b.rest.parameters, plan.backbone.parameters)
        XCTAssertEqual(b.mainNet.parameters + b.sideNet.parameters, b.withSideNetNoExit.parameters)
        XCTAssertEqual(b.expectedParameters(exitRate: 1), Double(b.withSideNetAllExit.parameters))
        XCTAssertEqual(b.expectedParameters(exitRate: 0), Double(b.withSideNetNoExit.parameters))
        // layer2.0 attach point: [128, 4, 4]
        XCTAssertEqual(plan.activationShape(try ResNetAttachPoint(parsing: "layer2.0")), [128, 4, 4])
        XCTAssertEqual(plan.activationShape(try ResNetAttachPoint(parsing: "layer4")), [512, 1, 1])
    }

    func testAttachPointParsing() throws {
        XCTAssertEqual(try ResNetAttachPoint(parsing: "layer1"), .layer1)
        XCTAssertEqual(try ResNetAttachPoint(parsing: "layer3.5"), ResNetAttachPoint(stage: 3, block: 5))
        for bad in ["layer0", "layer5", "block1", "layer1.x", "layer1.", "layer1.0.1"] {
            XCTAssertThrowsError(try ResNetAttachPoint(parsing: bad), bad)
        }
        XCTAssertThrowsError(try ResNetAttachPoint(parsing: "layer1.2").validate(in: .resnet18())) { e in
            XCTAssertTrue("\(e)".contains("layer1 has 2 blocks"), "\(e)")
        }
        XCTAssertEqual(ResNetAttachPoint(stage: 2, block: 0).blocksBefore(in: .resnet50()), 4)
        XCTAssertEqual(ResNetAttachPoint.layer1.blocksBefore(in: .resnet50()), 3)
    }
}
