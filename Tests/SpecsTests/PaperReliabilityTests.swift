import Foundation
import XCTest
import Specs

/// `paper.reliability` (the experiment drawn in Figure 3): parsed, defaulted, refused when not
/// a bool, and absent from specs stored before it existed.
final class PaperReliabilityTests: XCTestCase {
    func testParsedDefaultedAndStoredSpecsWithoutItDecode() throws {
        let with = try ExperimentSpec.parse(yaml: baseYAML + "paper: {label: X, reliability: true}\n")
        XCTAssertEqual(with.paper?.reliability, true)
        XCTAssertTrue(with.canonicalJSON().contains("\"reliability\":true"))
        XCTAssertEqual(try ExperimentSpec.fromJSON(with.canonicalJSON()), with)
        let without = try ExperimentSpec.parse(yaml: baseYAML + "paper: {label: X}\n")
        XCTAssertEqual(without.paper?.reliability, false)
        // A spec stored before the field existed has no "reliability" key.
        let old = without.canonicalJSON().replacingOccurrences(of: ",\"reliability\":false", with: "")
        XCTAssertFalse(old.contains("reliability"), old)
        XCTAssertEqual(try ExperimentSpec.fromJSON(old).paper?.reliability, false)
        XCTAssertThrowsError(try ExperimentSpec.parse(yaml: baseYAML + "paper: {label: X, reliability: 3}\n"))
        XCTAssertEqual(with.specHash, without.specHash, "paper must not change the spec hash")
    }

    func testOnlyTheResNet50SpecsDeclareIt() throws {
        for sub in ["paper", "demo"] {
            let dir = repoRoot.appendingPathComponent("experiments/\(sub)")
            for n in try FileManager.default.contentsOfDirectory(atPath: dir.path) where n.hasSuffix(".yaml") {
                let spec = try ExperimentSpec.load(dir.appendingPathComponent(n))
                XCTAssertEqual(spec.paper?.reliability, n == "cifar10-resnet50.yaml", "\(sub)/\(n)")
            }
        }
    }
}
