import Foundation
import XCTest
import Specs

/// Spec files that are not YAML text, too large, or malformed: one bounded line naming the file.
final class SpecFileProblemTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("sidenet-specfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    var demo: String { (try? String(contentsOf: repoRoot.appendingPathComponent("experiments/demo/cifar10-resnet18.yaml"), encoding: .utf8)) ?? "" }

    func message(_ name: String, _ bytes: Data) throws -> String {
        let url = dir.appendingPathComponent(name)
        try bytes.write(to: url)
        do { _ = try ExperimentSpec.load(url); XCTFail("\(name) loaded"); return "" } catch { return "\(error)" }
    }

    func testNonUTF8AndBinarySpecsNameFileAndProblem() throws {
        let latin1 = try message("latin1.yaml", Data("name: caf".utf8) + Data([0xE9]) + Data("\n".utf8))
        XCTAssertTrue(latin1.contains("latin1.yaml") && latin1.contains("not UTF-8") && latin1.contains("offset 9"), latin1)
        let binary = try message("binary.yaml", Data([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00]))
        XCTAssertTrue(binary.contains("binary.yaml") && binary.contains("NUL"), binary)
    }

    func testDuplicateKeyIsOneLineWithoutTheDocument() throws {
        let text = demo + "seeds: [3]\n"
        let m = try message("dup.yaml", Data(text.utf8))
        XCTAssertTrue(m.contains("dup.yaml") && m.contains("duplicate key 'seeds'"), m)
        XCTAssertFalse(m.contains("\n"), m)
        XCTAssertFalse(m.contains("description:"), "echoes the document: \(m)")
        XCTAssertLessThan(m.count, 400)
    }

    func testSyntaxErrorIsOneBoundedLine() throws {
        let m = try message("syntax.yaml", Data((demo + "data: [unclosed\n" + String(repeating: "x: y\n", count: 10_000)).utf8))
        XCTAssertFalse(m.contains("\n"), m)
        XCTAssertLessThan(m.count, 400, m)
    }

    func testOversizedSpecIsRefusedBeforeParsing() throws {
        let big = Data(("# " + String(repeating: "x", count: 2_000_000) + "\n" + demo).utf8)
        let m = try message("big.yaml", big)
        XCTAssertTrue(m.contains("big.yaml") && m.contains("limited to 1000000 bytes"), m)
        XCTAssertLessThan(m.count, 300)
    }

    func testDirectoryInPlaceOfSpec() throws {
        let sub = dir.appendingPathComponent("spec.yaml")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
        do { _ = try ExperimentSpec.load(sub); XCTFail() } catch {
            XCTAssertTrue("\(error)".contains("is a directory"), "\(error)")
        }
    }

    func testTrainingSplitOfOneExampleIsRefused() throws {
        for (limit, key) in [("{train: 1001, test: 2000}", "data.limit.train"), ("{train: 1, test: 2}", "data.limit.train")] {
            let text = demo.replacingOccurrences(of: "{train: 6000, test: 2000}", with: limit)
            XCTAssertThrowsError(try ExperimentSpec.parse(yaml: text, file: "one.yaml")) { e in
                XCTAssertEqual((e as? SpecError)?.keyPath, key, "\(e)")
                XCTAssertTrue("\(e)".contains("at least 2"), "\(e)")
            }
        }
        let two = demo.replacingOccurrences(of: "{train: 6000, test: 2000}", with: "{train: 1002, test: 2}")
        XCTAssertNoThrow(try ExperimentSpec.parse(yaml: two, file: "two.yaml"))
    }
}
