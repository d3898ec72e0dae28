import Foundation
import Runner
import Specs
import XCTest

/// A missing weight file is reported with where its family publishes it (each family declares its
/// published files in its own folder; Runner names none).
final class PublishedWeightsTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func missing(_ spec: ExperimentSpec) -> String {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("published-\(UUID().uuidString)")
        return Runner.missingFiles(spec, baseDir: empty).joined(separator: "\n")
    }

    func testPaperSpecsPointToTheirPublishedFiles() throws {
        let resnet = try ExperimentSpec.load(Self.repo.appendingPathComponent("experiments/paper/cifar10-resnet50.yaml"))
        let r = missing(resnet)
        XCTAssertTrue(r.contains("download https://download.pytorch.org/models/resnet50-0676ba61.pth (SHA-256 starts with 0676ba61)"), r)
        let bert = try ExperimentSpec.load(Self.repo.appendingPathComponent("experiments/paper/sst2-bert-base.yaml"))
        let b = missing(bert)
        XCTAssertTrue(b.contains("https://huggingface.co/google-bert/bert-base-uncased"), b)
        XCTAssertFalse(b.contains("download.pytorch.org"), b)
    }

    func testVGGFileIsFoundInItsFamilysDeclaration() throws {
        let yaml = try String(contentsOf: Self.repo.appendingPathComponent("experiments/paper/cifar10-resnet18.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "arch: resnet18", with: "arch: vgg16_bn")
            .replacingOccurrences(of: "resnet18-f37072fd.pth", with: "vgg16_bn-6c64b313.pth")
            .replacingOccurrences(of: "attach: layer1", with: "attach: features.13")
        let v = missing(try ExperimentSpec.parse(yaml: yaml, file: "vgg.yaml"))
        XCTAssertTrue(v.contains("download https://download.pytorch.org/models/vgg16_bn-6c64b313.pth"), v)
    }
}
