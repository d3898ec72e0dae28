import Foundation
import XCTest
import Models

final class BertConfigTests: XCTestCase {
    func testDecodesSavePretrainedConfigIgnoringExtraFields() throws {
        let c = try BertConfig(contentsOf: textFixture("bert", "config.json"))
        XCTAssertEqual(c, BertConfig(hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 64,
                                     maxPositionEmbeddings: 16, vocabSize: 100, typeVocabSize: 2))
        let d = try DistilBertConfig(contentsOf: textFixture("distilbert", "config.json"))
        XCTAssertEqual(d, DistilBertConfig(dim: 32, nLayers: 2, nHeads: 2, hiddenDim: 64, maxPositionEmbeddings: 16,
                                           vocabSize: 100))
    }

    func testDefaultsByName() throws {
        XCTAssertEqual(try BertConfig.named("bert-base-uncased"), try BertConfig(json: Data("{}".utf8)))
        let large = try BertConfig.named("bert-large-uncased")
        XCTAssertEqual([large.hiddenSize, large.numHiddenLayers, large.numAttentionHeads, large.intermediateSize],
                       [1024, 24, 16, 4096])
        XCTAssertEqual(try DistilBertConfig.named("distilbert-base-uncased"), try DistilBertConfig(json: Data("{}".utf8)))
        XCTAssertThrowsError(try BertConfig.named("bert-huge"))
    }

    func testWrongTypesAndActivationsAreErrorsNamingTheField() {
        func field(_ json: String, distil: Bool = false) -> String? {
            do {
                if distil { _ = try DistilBertConfig(json: Data(json.utf8), file: "c.json") } else {
                    _ = try BertConfig(json: Data(json.utf8), file: "c.json")
                }
                return nil
            } catch let TextModelError.badConfigField(_, f, _, _) { return f } catch { return "other: \(error)" }
        }
        XCTAssertEqual(field(#"{"hidden_size": "768"}"#), "hidden_size")
        XCTAssertEqual(field(#"{"hidden_size": 768.5}"#), "hidden_size")
        XCTAssertEqual(field(#"{"layer_norm_eps": "small"}"#), "layer_norm_eps")
        XCTAssertEqual(field(#"{"hidden_act": "gelu_new"}"#), "hidden_act")
        XCTAssertEqual(field(#"{"model_type": "distilbert"}"#), "model_type")
        XCTAssertEqual(field(#"{"num_attention_heads": 7}"#), "num_attention_heads")
        XCTAssertEqual(field(#"{"activation": "relu"}"#, distil: true), "activation")
        XCTAssertEqual(field(#"{"n_layers": true}"#, distil: true), "n_layers")
        XCTAssertEqual(field(#"{"sinusoidal_pos_embds": true}"#, distil: true), "sinusoidal_pos_embds")
        XCTAssertNil(field(#"{"hidden_dropout_prob": 0, "whatever": [1, {"x": null}], "layer_norm_eps": 1e-12}"#))
        do {
            _ = try BertConfig(json: Data(#"{"hidden_act": "gelu_new"}"#.utf8), file: "c.json")
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue("\(error)".contains("c.json") && "\(error)".contains("hidden_act") && "\(error)".contains("gelu_new"),
                          "\(error)")
        }
    }
}
