import Layers
import Models
import Tensors
import XCTest

/// `SideNetModel.sharingBackbone(seed:)` (lockstep runs on one loaded backbone): the heads are
/// those `makeModel(seed:)` builds for that seed, bit for bit, on the very same backbone object.
final class SharedBackboneTests: XCTestCase {
    private func state(_ m: Module) -> [String: [Float]] {
        Dictionary(uniqueKeysWithValues: m.namedParameters().map { ($0.0, $0.1.value.data) }
            + m.namedBuffers().map { ($0.0, $0.1.value.data) })
    }

    func testSharedBackboneHeadsEqualAFreshModelsHeads() throws {
        let family = ResNetFamily()
        let fields = ResNetFamily.fields(ResNetConfig(block: .basic, blocks: [1, 1, 1, 1], width: 8, numClasses: 10))
        let context = MainNetContext(inputSize: 16, outputs: 10)
        let first = try family.makeModel(fields, context: context, attach: ["layer2"], hidden: 6, headHidden: 5, seed: 0)
        for seed: UInt64 in [0, 3, 7] {
            let fresh = try family.makeModel(fields, context: context, attach: ["layer2"], hidden: 6, headHidden: 5, seed: seed)
            let shared = try first.sharingBackbone(seed: seed)
            XCTAssertTrue(shared.backbone === first.backbone, "the backbone object is shared, not copied")
            XCTAssertEqual(shared.attachPoints, fresh.attachPoints)
            XCTAssertEqual(shared.attachUnits, fresh.attachUnits)
            XCTAssertEqual(shared.head.hidden, 5)
            XCTAssertEqual(shared.sideNets[0].hidden, 6)
            // one-line failures (no dump of whole weight tensors)
            XCTAssertTrue(state(shared.head) == state(fresh.head), "head of seed \(seed) differs from makeModel's")
            XCTAssertTrue(state(shared.sideNets[0]) == state(fresh.sideNets[0]), "SideNet of seed \(seed) differs from makeModel's")
            XCTAssertEqual(shared.computeBreakdown(), fresh.computeBreakdown())
        }
        // different seeds give different heads (the check above is not vacuous)
        XCTAssertTrue(state(try first.sharingBackbone(seed: 1).head) != state(first.head), "seeds 1 and 0 give the same head")
    }
}
