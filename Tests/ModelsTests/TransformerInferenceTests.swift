import Foundation
import XCTest
import Tensors
import Layers
import WeightIO
import Models

/// The eval-only feature pass of the text encoders (`inferenceFeatures`, behind
/// `SideNetModel.cacheFeatures`): full-token blocks identical to the training path's eval
/// forward, the last block on [CLS] rows only within 1e-5 (relative) of the full forward, on
/// ragged (padded) batches; and against transformers' own numbers on the fixtures.
final class TransformerInferenceTests: XCTestCase {
    private var savedMinimum = 0
    // the [CLS]-only block on these small configs too (by default they take the full block)
    override func setUp() { savedMinimum = TransformerEncoder.clsOnlyMinimumWork; TransformerEncoder.clsOnlyMinimumWork = 0 }
    override func tearDown() { TransformerEncoder.clsOnlyMinimumWork = savedMinimum }

    /// Sentences of lengths 1...12 (padded to 12), random ids.
    private func raggedBatch(vocab: Int, seed: UInt64) throws -> TokenBatch {
        var rng = SeededGenerator(seed: seed)
        let lengths = [12, 1, 5, 9, 12, 3, 7, 2]
        return try TokenBatch(padding: lengths.map { n in (0..<n).map { _ in 1 + rng.nextInt(below: vocab - 1) } })
    }

    /// The full forward, block by block: [CLS] after each of `attach`, and the features.
    private func fullForward(_ enc: TransformerEncoder, _ batch: TokenBatch, attach: [Int]) throws -> (attach: [Tensor], head: Tensor) {
        let cls = try attach.map { TransformerEncoder.cls(try enc.forwardPrefix(batch, throughLayer: $0, mode: .eval, cache: false)) }
        return (cls, try enc.forward(batch, mode: .eval, cache: false))
    }

    private func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape)
        let scale = max(b.data.map(abs).max() ?? 0, 1e-30)
        return a.maxAbsDifference(b) / scale
    }

    private func check(_ enc: TransformerEncoder, vocab: Int, label: String) throws {
        let last = enc.numLayers - 1
        for attach in [[0], [last], [0, last]] {
            let batch = try raggedBatch(vocab: vocab, seed: 5)
            let fast = try enc.inferenceFeatures(batch, attachLayers: attach)
            let full = try fullForward(enc, batch, attach: attach)
            for (j, n) in attach.enumerated() {
                if n < last {
                    // full-token blocks: the same kernels on the same rows
                    XCTAssertEqual(fast.attach[j].data.map(\.bitPattern), full.attach[j].data.map(\.bitPattern), "\(label) block \(n)")
                } else {
                    XCTAssertLessThanOrEqual(relativeError(fast.attach[j], full.attach[j]), 1e-5, "\(label) last block [CLS]")
                }
            }
            XCTAssertEqual(fast.head.shape, [batch.batchSize, enc.hiddenSize])
            XCTAssertLessThanOrEqual(relativeError(fast.head, full.head), 1e-5, "\(label) features, attach \(attach)")
        }
    }

    func testBertCLSOnlyLastBlockMatchesFullForward() throws {
        let cfg = BertConfig(hiddenSize: 64, numHiddenLayers: 3, numAttentionHeads: 4, intermediateSize: 96,
                             maxPositionEmbeddings: 16, vocabSize: 50)
        try check(BertModel(config: cfg, seed: 9), vocab: 50, label: "bert")
    }

    func testDistilBertCLSOnlyLastBlockMatchesFullForward() throws {
        let cfg = DistilBertConfig(dim: 48, nLayers: 2, nHeads: 3, hiddenDim: 80, maxPositionEmbeddings: 16, vocabSize: 40)
        try check(DistilBertModel(config: cfg, seed: 4), vocab: 40, label: "distilbert")
    }

    /// `SideNetModel.cacheFeatures` takes this pass, and matches transformers on the fixtures.
    func testCachedFeaturesMatchTransformers() throws {
        for name in ["bert", "distilbert"] {
            let prefix = name == "bert" ? "encoder.layer" : "transformer.layer"
            let m = try fixtureTextModel(name, attach: ["\(prefix).0"])
            let (ref, batch) = try textReference(name)
            let (attach, head) = try m.cacheFeatures(MainNetActivation(tokens: batch))
            assertClose(attach[0], ref["cls_layer0"]!, tol: 1e-5, "\(name) [CLS] after block 0")
            assertClose(head, ref["features"]!, tol: 1e-5, "\(name) features")
            let enc = m.backbone as! TransformerEncoder
            let direct = try enc.inferenceFeatures(batch, attachLayers: [0])
            XCTAssertEqual(head.data, direct.head.data, "\(name): cacheFeatures runs inferenceFeatures")
        }
    }

    /// Below `clsOnlyMinimumWork` (the default, for a small model) every feature is bit-identical
    /// to the full forward's.
    func testSmallModelsKeepTheFullLastBlockBitIdentical() throws {
        TransformerEncoder.clsOnlyMinimumWork = savedMinimum
        let cfg = BertConfig(hiddenSize: 64, numHiddenLayers: 3, numAttentionHeads: 4, intermediateSize: 96,
                             maxPositionEmbeddings: 16, vocabSize: 50)
        let enc = BertModel(config: cfg, seed: 9)
        let batch = try raggedBatch(vocab: 50, seed: 5)
        let fast = try enc.inferenceFeatures(batch, attachLayers: [2])
        let full = try fullForward(enc, batch, attach: [2])
        XCTAssertEqual(fast.attach[0].data.map(\.bitPattern), full.attach[0].data.map(\.bitPattern))
        XCTAssertEqual(fast.head.data.map(\.bitPattern), full.head.data.map(\.bitPattern))
    }

    func testRejectsAttachOutsideTheBlocks() throws {
        let m = BertModel(config: BertConfig(hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 8,
                                             maxPositionEmbeddings: 16, vocabSize: 20), seed: 1)
        XCTAssertThrowsError(try m.inferenceFeatures(try raggedBatch(vocab: 20, seed: 1), attachLayers: [2]))
    }
}
