import Foundation
import XCTest
import Runner
import Specs
import Store

/// `mainnet.head.hidden` and `sidenet.hidden` are separate widths: a ResNet run with a 12-unit
/// head and a 5-unit SideNet stores tensors of those widths and counts their parameters.
final class RunnerHeadWidthTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("head-width") }
    override func tearDown() { scratch.cleanup() }

    /// Tensor name -> shape from a safetensors header (8-byte little-endian length, then JSON).
    private func shapes(_ path: String) throws -> [String: [Int]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any])
        var out: [String: [Int]] = [:]
        for (k, v) in header where k != "__metadata__" {
            out[k] = ((v as? [String: Any])?["shape"] as? [Int]) ?? []
        }
        return out
    }

    func testResNetHeadAndSideNetWidthsAreSeparate() throws {
        let spec = try TinySpecs.resnet(name: "t-widths", variants: ["sidenet"], epochs: 1, headHidden: 12, sideHidden: 5)
        let store = try ResultStore(path: scratch.databasePath)
        let outcomes = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(outcomes.map(\.status), [.finished], outcomes.compactMap(\.reason).joined())
        let run = try XCTUnwrap(try storedRuns(store, spec).first)
        let best = try XCTUnwrap(try store.checkpoint(runId: run.id!, kind: .best))
        let s = try shapes(best.path)
        // tiny ResNet: width 4, basic blocks -> 32 feature channels; layer1 at 32x32 input -> 4x8x8
        XCTAssertEqual(s["head.fc1.weight"], [12, 32])
        XCTAssertEqual(s["head.bn.weight"], [12])
        XCTAssertEqual(s["head.fc2.weight"], [10, 12])
        XCTAssertEqual(s["sidenet.fc1.weight"], [5, 256])
        XCTAssertEqual(s["sidenet.bn.weight"], [5])
        XCTAssertEqual(s["sidenet.fc2.weight"], [10, 5])
        // stored counts follow the same widths: SideNet 256*5+5 + 2*5 + 5*10+10
        XCTAssertEqual(run.paramsSidenet, 256 * 5 + 5 + 2 * 5 + 5 * 10 + 10)
        let headParams = 32 * 12 + 12 + 2 * 12 + 12 * 10 + 10
        let backbone = (run.paramsMainnet ?? 0) - headParams
        let spec8 = try TinySpecs.resnet(name: "t-widths-8", variants: ["sidenet"], epochs: 1, headHidden: 8, sideHidden: 5)
        let other = try Runner(store: store, options: testOptions(scratch)).run([spec8])
        XCTAssertEqual(other.map(\.status), [.finished])
        let run8 = try XCTUnwrap(try storedRuns(store, spec8).first)
        XCTAssertEqual(run8.paramsMainnet, backbone + 32 * 8 + 8 + 2 * 8 + 8 * 10 + 10,
                       "the MainNet count changes with mainnet.head.hidden only")
    }
}
