import Foundation
import XCTest
import Runner
import Specs
import Store

/// Missing inputs fail the run with a reason that says what is missing and where.
final class RunnerErrorTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("errors") }
    override func tearDown() { scratch.cleanup() }

    private func failedReason(_ spec: ExperimentSpec, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let store = try ResultStore(path: scratch.databasePath)
        let outcomes = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertFalse(outcomes.isEmpty, file: file, line: line)
        XCTAssertTrue(outcomes.allSatisfy { $0.status == .failed }, "\(outcomes)", file: file, line: line)
        let reason = outcomes.first?.reason ?? ""
        // the store records the failure with the same reason
        let runs = try storedRuns(store, spec, file: file, line: line)
        let first = runs.first { $0.variant.rawValue == outcomes.first?.variant.rawValue && $0.seed == outcomes.first?.seed }
        XCTAssertEqual(first?.status, .failed, file: file, line: line)
        XCTAssertEqual(first?.reason, reason, file: file, line: line)
        XCTAssertFalse(runs.contains { $0.status == .running }, "no run may stay 'running'", file: file, line: line)
        return reason
    }

    func testMissingCIFARDirectoryNamesExpectedFiles() throws {
        let spec = try TinySpecs.resnet(name: "t-missing-cifar", dataPath: "no-such-cifar")
        let reason = try failedReason(spec)
        for expected in ["no-such-cifar", "data_batch_1.bin", "data_batch_5.bin", "test_batch.bin"] {
            XCTAssertTrue(reason.contains(expected), "reason should name \(expected): \(reason)")
        }
    }

    func testMissingSSTDirectoryNamesExpectedFiles() throws {
        let spec = try TinySpecs.bert(name: "t-missing-sst", dataPath: "no-such-sst")
        let reason = try failedReason(spec)
        for expected in ["no-such-sst", "stsa.binary"] {
            XCTAssertTrue(reason.contains(expected), "reason should name \(expected): \(reason)")
        }
    }

    func testMissingVocabNamesPath() throws {
        let spec = try TinySpecs.bert(name: "t-missing-vocab", vocab: "no-such-dir/vocab.txt")
        let reason = try failedReason(spec)
        let path = SharedData.root.appendingPathComponent("no-such-dir/vocab.txt").path
        XCTAssertTrue(reason.contains(path), "reason should name \(path): \(reason)")
    }

    func testMissingWeightsFileNamesPath() throws {
        let spec = try TinySpecs.resnet(name: "t-missing-weights", weights: "weights/missing-backbone.safetensors")
        let reason = try failedReason(spec)
        let path = SharedData.root.appendingPathComponent("weights/missing-backbone.safetensors").path
        XCTAssertTrue(reason.contains(path), "reason should name the resolved path \(path): \(reason)")
    }

    func testMissingTorchvisionWeightsSaysWhereToGetThem() throws {
        let spec = try TinySpecs.resnet(name: "t-missing-tv", weights: "weights/resnet18-f37072fd.pth")
        let reason = try failedReason(spec)
        let path = SharedData.root.appendingPathComponent("weights/resnet18-f37072fd.pth").path
        XCTAssertTrue(reason.contains(path), "reason should name \(path): \(reason)")
        XCTAssertTrue(reason.contains("https://download.pytorch.org/models/resnet18-f37072fd.pth"),
                      "reason should say where to download it: \(reason)")
    }
}
