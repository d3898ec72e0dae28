import Foundation
import XCTest
import Tensors
import WeightIO
import Models

/// Weights streamed from a safetensors file straight into the parameters (`WeightFile.open`,
/// the loading path of `loadWeights(contentsOf:)`, `loadPretrained(from:)` and the runner) give
/// the parameters of the in-memory path (`WeightFile.load`, every tensor parsed first) bit for
/// bit; a cut or shrinking file gives one line naming the file and the tensor.
final class StreamedLoadingTests: XCTestCase {
    private func parameters(_ m: Module) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: m.namedParameters().map { ($0.0, $0.1.value.data.map(\.bitPattern)) })
    }

    private func bert(seed: UInt64) throws -> BertModel {
        BertModel(config: try BertConfig(contentsOf: textFixture("bert", "config.json")), seed: seed)
    }

    private func distilBert(seed: UInt64) throws -> DistilBertModel {
        DistilBertModel(config: try DistilBertConfig(contentsOf: textFixture("distilbert", "config.json")), seed: seed)
    }

    /// The fixture's tensors re-saved as BF16 (the top half of each float): a converting dtype.
    private func bf16Copy(_ url: URL) throws -> URL {
        let file = try SafeTensorsFile(contentsOf: url)
        var out: [String: StoredTensor] = [:]
        for (k, t) in file.tensors {
            let halves = try t.floats().flatMap { v -> [UInt8] in
                let b = UInt16(truncatingIfNeeded: v.bitPattern >> 16)
                return [UInt8(b & 0xFF), UInt8(b >> 8)]
            }
            out[k] = try StoredTensor(dtype: .BF16, shape: t.shape, bytes: Data(halves))
        }
        let dest = FileManager.default.temporaryDirectory.appendingPathComponent("bf16-\(UUID().uuidString).safetensors")
        try SafeTensors.write(out, to: dest)
        return dest
    }

    func testStreamedLoadIsBitIdenticalToInMemoryLoad() throws {
        let bertURL = textFixture("bert", "model.safetensors"), distilURL = textFixture("distilbert", "model.safetensors")
        for url in [bertURL, try bf16Copy(bertURL), textFixture("bert", "pytorch_model.bin")] {
            // different seeds: whatever the load leaves unwritten would differ
            let streamed = try bert(seed: 1), parsed = try bert(seed: 2)
            let warnings = try streamed.loadWeights(contentsOf: url)  // the .bin holds an MLM head: skipped alike
            XCTAssertEqual(try parsed.loadWeights(try WeightFile.load(url), source: url.lastPathComponent), warnings)
            XCTAssertEqual(parameters(streamed), parameters(parsed), url.lastPathComponent)
        }
        let streamed = try distilBert(seed: 1), parsed = try distilBert(seed: 2)
        try streamed.loadWeights(contentsOf: distilURL)
        try parsed.loadWeights(try WeightFile.load(distilURL), source: "model.safetensors")
        XCTAssertEqual(parameters(streamed), parameters(parsed))
    }

    func testCutModelFileNamesFileAndTensor() throws {
        let bytes = try Data(contentsOf: textFixture("bert", "model.safetensors"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cut-\(UUID().uuidString).safetensors")
        try bytes.dropLast(100).write(to: url)
        let m = try bert(seed: 1)
        let before = parameters(m)
        XCTAssertThrowsError(try m.loadWeights(contentsOf: url)) { e in
            let msg = "\(e)"
            XCTAssertTrue(msg.contains(url.path), msg)
            XCTAssertTrue(msg.contains("tensor \""), msg)
            XCTAssertFalse(msg.contains("\n"), msg)
        }
        XCTAssertEqual(parameters(m), before, "a refused file leaves the model untouched")
    }

    /// The file shrinks between opening (header accepted) and streaming: the strict loader
    /// reports the key and the reader's message (file and tensor), on one line.
    func testFileShrinkingDuringLoadNamesFileAndTensor() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shrink-\(UUID().uuidString).safetensors")
        try Data(contentsOf: textFixture("bert", "model.safetensors")).write(to: url)
        let opened = try WeightFile.open(url)
        let h = try FileHandle(forWritingTo: url)
        try h.truncate(atOffset: 64)
        try h.close()
        XCTAssertThrowsError(try bert(seed: 1).loadWeights(opened, source: url.lastPathComponent)) { e in
            guard case .unreadableTensor(let key, let reason, _)? = e as? ModelError else { return XCTFail("got \(e)") }
            XCTAssertTrue(reason.contains(url.path) && reason.contains("tensor \"") && reason.contains(key), reason)
            XCTAssertFalse("\(e)".contains("\n"), "\(e)")
        }
    }
}
