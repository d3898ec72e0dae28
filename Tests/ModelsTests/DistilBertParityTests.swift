import Foundation
import XCTest
import Tensors
import Layers
import WeightIO
import Models

final class DistilBertParityTests: XCTestCase {
    func tinyDistilBert() throws -> DistilBertModel {
        let cfg = try DistilBertConfig(contentsOf: textFixture("distilbert", "config.json"))
        let m = DistilBertModel(config: cfg, seed: 7)
        XCTAssertEqual(try m.loadWeights(contentsOf: textFixture("distilbert", "model.safetensors")), [])
        return m
    }

    func testForwardAndGradientsMatchTransformers() throws {
        try checkParity(try tinyDistilBert(), reference: "distilbert")
    }

    func testHeadVariantsLoadTheSameWeights() throws {
        let base = try tinyDistilBert().stateDict()
        let cfg = try DistilBertConfig(contentsOf: textFixture("distilbert", "config.json"))
        let seq = DistilBertModel(config: cfg, seed: 1)
        let w1 = try seq.loadWeights(contentsOf: textFixture("distilbert", "seqcls.safetensors"))
        XCTAssertEqual(w1.count, 2, "\(w1)") // classifier.*, pre_classifier.*
        XCTAssertEqual(seq.stateDict(), base)
        let mlm = DistilBertModel(config: cfg, seed: 2)
        let w2 = try mlm.loadWeights(contentsOf: textFixture("distilbert", "mlm.safetensors"))
        XCTAssertEqual(w2.count, 3, "\(w2)") // vocab_transform, vocab_layer_norm, vocab_projector
        XCTAssertEqual(mlm.stateDict(), base)
    }
}
