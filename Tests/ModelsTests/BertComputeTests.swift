import XCTest
import Tensors
import Models

final class BertComputeTests: XCTestCase {
    /// HF totals (formats.md 6.4) from the accounting formulas, without allocating the models.
    func testParameterTotalsEqualTransformers() {
        XCTAssertEqual(BertConfig.baseUncased.baseModelCost(length: 64).parameters, 109_482_240)
        XCTAssertEqual(BertConfig.largeUncased.baseModelCost(length: 64).parameters, 335_141_888)
        XCTAssertEqual(DistilBertConfig.baseUncased.baseModelCost(length: 64).parameters, 66_362_880)
        XCTAssertEqual(BertConfig.baseUncased.encoderShape.embeddingsCost.parameters, 23_837_184)
        XCTAssertEqual(BertConfig.baseUncased.encoderShape.layerCost(length: 1).parameters, 7_087_872)
        XCTAssertEqual(BertConfig.largeUncased.encoderShape.layerCost(length: 1).parameters, 12_596_224)
        XCTAssertEqual(DistilBertConfig.baseUncased.encoderShape.embeddingsCost.parameters, 23_835_648)
    }

    /// The formulas agree with the parameters the models actually hold (small configs).
    func testAccountingMatchesInstantiatedModels() throws {
        let bc = BertConfig(hiddenSize: 48, numHiddenLayers: 3, numAttentionHeads: 4, intermediateSize: 80,
                            maxPositionEmbeddings: 20, vocabSize: 50, typeVocabSize: 2)
        let bert = BertModel(config: bc)
        XCTAssertEqual(bert.parameterCount, bc.baseModelCost(length: 8).parameters)
        let dc = DistilBertConfig(dim: 48, nLayers: 3, nHeads: 4, hiddenDim: 80, maxPositionEmbeddings: 20, vocabSize: 50)
        let distil = DistilBertModel(config: dc)
        XCTAssertEqual(distil.parameterCount, dc.baseModelCost(length: 8).parameters)
        for n in 0..<3 {
            let b = bc.computeBreakdown(attachLayer: n, length: 8, outputs: 1)
            XCTAssertEqual(b.prefix.parameters + b.rest.parameters, bert.parameterCount)
            XCTAssertEqual(b.prefix + b.rest, bc.baseModelCost(length: 8))
            let model = try BertFamily().makeModel(BertFamily.fields(bc), context: MainNetContext(sequenceLength: 8, outputs: 1),
                                                   attach: ["encoder.layer.\(n)"], seed: 1)
            XCTAssertEqual(model.parameterCount - model.sideNets[0].parameterCount, b.mainNet.parameters)
            XCTAssertEqual(model.computeBreakdown(), b)
        }
    }

    /// MACs by hand for bert-base at L = 128, attach after block 4 (encoder.layer.3).
    func testBreakdownFLOPsByHand() {
        let l = 128, d = 768, i = 3072
        let perLayer = 4 * l * d * d + 2 * l * d * i + 2 * l * l * d
        let b = BertConfig.baseUncased.computeBreakdown(attachLayer: 3, length: l, outputs: 1)
        XCTAssertEqual(b.prefix.macs, 4 * perLayer)
        XCTAssertEqual(b.rest.macs, 8 * perLayer + d * d)
        XCTAssertEqual(b.prefix.flops, 2 * 4 * perLayer)
        XCTAssertEqual(b.sideNet, ComputeCost(parameters: d * 32 + 32 + 64 + 32 + 1, macs: d * 32 + 32))
        XCTAssertEqual(b.head, b.sideNet)
        XCTAssertEqual(b.prefix.parameters, 23_837_184 + 4 * 7_087_872)
        XCTAssertEqual(b.rest.parameters, 8 * 7_087_872 + d * d + d)
        let dist = DistilBertConfig.baseUncased.computeBreakdown(attachLayer: 0, length: l, outputs: 1)
        XCTAssertEqual(dist.rest.macs, 5 * perLayer)
        XCTAssertEqual(dist.prefix.parameters + dist.rest.parameters, 66_362_880)
    }
}
