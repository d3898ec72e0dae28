import Foundation
import XCTest
import Tensors
import Layers
import WeightIO
import Models

/// Fixture folder written by Tests/Fixtures/models_text.py.
func textFixture(_ model: String, _ file: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models/\(model)/\(file)")
}

/// The reference tensors and the token batch of a fixture folder.
func textReference(_ model: String) throws -> ([String: Tensor], TokenBatch) {
    let ref = try SafeTensors.load(textFixture(model, "reference.safetensors"))
    let ids = ref["ids"]!.data.map { Int($0) }
    return (ref, try TokenBatch(ids: ids, mask: ref["mask"]!))
}

/// Max |a − b| with a tolerance scaled by the reference magnitude; fails with the numbers.
func assertClose(_ a: Tensor, _ b: Tensor, tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shapes", file: file, line: line)
    guard a.shape == b.shape else { return }
    let scale = max(1, b.data.map(abs).max() ?? 1)
    let diff = a.maxAbsDifference(b)
    XCTAssertLessThanOrEqual(diff, tol * scale, "\(what): max |diff| \(diff) > \(tol) x \(scale)", file: file, line: line)
}

/// Parity of a loaded encoder with transformers: last hidden states, features, [CLS] at block 0,
/// and every parameter gradient of loss = sum(features * r) in eval mode.
func checkParity(_ enc: TransformerEncoder, reference model: String) throws {
    let (ref, batch) = try textReference(model)
    let hidden = try enc.forwardHidden(batch, mode: .eval)
    assertClose(hidden, ref["last_hidden"]!, tol: 1e-5, "\(model) last_hidden_state")

    let h0 = try enc.forwardPrefix(batch, throughLayer: 0, mode: .eval)
    assertClose(TransformerEncoder.cls(h0), ref["cls_layer0"]!, tol: 1e-5, "\(model) [CLS] after block 0")

    enc.zeroGrad()
    let prefix = try enc.forwardPrefix(batch, throughLayer: 0, mode: .eval, cache: true)
    let feats = try enc.forwardRest(prefix, mask: batch.mask, fromLayer: 1, mode: .eval, cache: true)
    assertClose(feats, ref["features"]!, tol: 1e-5, "\(model) features")
    let dh = enc.backwardRest(ref["r"]!)
    enc.backwardPrefix(dh)
    var checked = 0
    for (k, p) in enc.namedParameters() {
        guard let g = ref["grad." + k] else { XCTFail("\(model): no reference gradient for \(k)"); continue }
        assertClose(p.grad, g, tol: 2e-5, "\(model) grad \(k)")
        checked += 1
    }
    XCTAssertEqual(checked, enc.namedParameters().count)
}

final class BertParityTests: XCTestCase {
    func tinyBert() throws -> BertModel {
        let cfg = try BertConfig(contentsOf: textFixture("bert", "config.json"))
        let m = BertModel(config: cfg, seed: 7)
        let warnings = try m.loadWeights(contentsOf: textFixture("bert", "model.safetensors"))
        XCTAssertEqual(warnings, [])
        return m
    }

    func testForwardAndGradientsMatchTransformers() throws {
        try checkParity(try tinyBert(), reference: "bert")
    }

    func testHubAndSequenceClassificationFilesLoadTheSameWeights() throws {
        let base = try tinyBert().stateDict()
        let cfg = try BertConfig(contentsOf: textFixture("bert", "config.json"))

        let seq = BertModel(config: cfg, seed: 1)
        let w1 = try seq.loadWeights(contentsOf: textFixture("bert", "seqcls.safetensors"))
        XCTAssertEqual(w1.count, 1)
        XCTAssertTrue(w1.first?.contains("classifier.") ?? false, "\(w1)")
        XCTAssertEqual(seq.stateDict(), base)

        // bert. prefix, LayerNorm.gamma/beta, position_ids buffer, cls.* pretraining head
        let hub = BertModel(config: cfg, seed: 2)
        let w2 = try hub.loadWeights(contentsOf: textFixture("bert", "hub.safetensors"))
        XCTAssertEqual(w2.count, 1)
        XCTAssertTrue(w2.first?.contains("cls.") ?? false, "\(w2)")
        XCTAssertEqual(hub.stateDict(), base)

        // the same hub-style dict written by torch.save (pytorch_model.bin)
        let bin = BertModel(config: cfg, seed: 3)
        XCTAssertEqual(try bin.loadWeights(contentsOf: textFixture("bert", "pytorch_model.bin")).count, 1)
        XCTAssertEqual(bin.stateDict(), base)
    }

    func testLoadingErrorsNameTheKeyAndShapes() throws {
        let cfg = try BertConfig(contentsOf: textFixture("bert", "config.json"))
        let good = try SafeTensors.load(textFixture("bert", "model.safetensors"))
        let m = BertModel(config: cfg)

        var missing = good
        missing["encoder.layer.1.output.dense.bias"] = nil
        XCTAssertThrowsError(try m.loadWeights(missing, source: "f")) { e in
            XCTAssertEqual(e as? ModelError, .missingKey("encoder.layer.1.output.dense.bias", expectedShape: [32], source: "f"))
        }
        var extra = good
        extra["encoder.layer.2.output.dense.bias"] = Tensor(zeros: [32])
        XCTAssertThrowsError(try m.loadWeights(extra, source: "f")) { e in
            XCTAssertEqual(e as? ModelError, .unexpectedKey("encoder.layer.2.output.dense.bias", shape: [32], source: "f"))
        }
        var bad = good
        bad["encoder.layer.0.attention.self.query.weight"] = Tensor(zeros: [32, 16])
        XCTAssertThrowsError(try m.loadWeights(bad, source: "f")) { e in
            XCTAssertEqual(e as? ModelError, .shapeMismatch("encoder.layer.0.attention.self.query.weight",
                                                            expected: [32, 32], got: [32, 16], source: "f"))
            XCTAssertTrue("\(e)".contains("[32, 16]") && "\(e)".contains("[32, 32]"), "\(e)")
        }
        // a failed load leaves the model untouched
        XCTAssertNotEqual(m.stateDict()["embeddings.word_embeddings.weight"], good["embeddings.word_embeddings.weight"])
    }
}
