import Layers
import Models
import Tensors
import XCTest

/// Effective multiply-adds (EarlyExitCost.swift: taps that read real input, not padding), the
/// count `bench models` prints its second early-exit prediction from.
final class EarlyExitCostTests: XCTestCase {
    /// A direct convolution of all-ones input and weights sums, over its outputs, C x O x the real
    /// taps of each output position: exactly the effective multiply-adds of that convolution.
    func testEffectiveMACsCountTheRealTapsOfADirectConvolution() {
        let geometries: [(c: Int, o: Int, k: Int, s: Int, p: Int, h: Int, w: Int)] = [
            (3, 4, 7, 2, 3, 32, 32),   // ResNet stem at 32x32
            (5, 3, 3, 1, 1, 2, 2),     // 3x3 on a 2x2 map: 4 of 9 taps per position
            (2, 3, 3, 1, 1, 1, 1),     // 3x3 on a 1x1 map: the centre tap only
            (4, 2, 3, 2, 1, 4, 5),     // stride 2, odd width
            (3, 2, 1, 2, 0, 4, 4),     // 1x1 stride-2 downsample: every tap real
            (2, 2, 3, 1, 0, 6, 6),     // no padding: effective = nominal
        ]
        for g in geometries {
            let x = Tensor(shape: [1, g.c, g.h, g.w], data: [Float](repeating: 1, count: g.c * g.h * g.w))
            let w = Tensor(shape: [g.o, g.c, g.k, g.k], data: [Float](repeating: 1, count: g.o * g.c * g.k * g.k))
            let y = referenceConv2dForward(x, weight: w, bias: nil, stride: g.s, padding: g.p)
            let direct = Int(y.data.reduce(0, +).rounded())
            XCTAssertEqual(effectiveConvMACs(inChannels: g.c, outChannels: g.o, kernel: g.k, stride: g.s, padding: g.p, h: g.h, w: g.w),
                           direct, "\(g)")
        }
        XCTAssertEqual(realTaps(size: 6, kernel: 3, stride: 1, padding: 0), 4 * 3)
        XCTAssertEqual(realTaps(size: 1, kernel: 3, stride: 1, padding: 1), 1)
    }

    /// ResNet18 at 32x32 with the SideNet after layer1: nominally the prefix is 0.32 of the MainNet's
    /// multiply-adds, counting only taps on real input 0.465 (layer3 and layer4 run on 2x2 and 1x1
    /// maps). Every unit's effective count is at most its nominal one, the SideNet and head are the same.
    func testResNet18EffectivePrefixShareAt32() throws {
        let family = try MainNetRegistry.requireFamily(forArch: "resnet18")
        let model = try family.makeModel(family.presetConfig("resnet18")!, context: MainNetContext(inputSize: 32, outputs: 10),
                                         attach: ["layer1"], seed: 1)
        let nominal = model.computeBreakdown()
        let effective = try XCTUnwrap(model.effectiveComputeBreakdown(inputSize: 32))
        let share = { (c: ComputeBreakdown) in Double(c.prefix.macs) / Double(c.mainNet.macs) }
        XCTAssertEqual(share(nominal), 0.32, accuracy: 0.005)
        XCTAssertEqual(share(effective), 0.465, accuracy: 0.002, "effective prefix share \(share(effective))")
        XCTAssertEqual(effective.sideNet, nominal.sideNet)
        XCTAssertEqual(effective.head, nominal.head)
        let units = (model.backbone as! ResNet).effectiveUnitMACs(inputSize: 32)
        XCTAssertEqual(units.count, model.plan.unitCosts.count)
        for (e, n) in zip(units, model.plan.unitCosts) { XCTAssertLessThanOrEqual(e, n.macs) }
        // the last block (layer4.1, 512 channels on 1x1 maps) reads one tap of nine
        XCTAssertEqual(units.last!, 2 * 512 * 512)
    }
}
