import Tokenizer

/// A mini-batch of SST examples ready for a BERT-style model.
public struct TextBatch: Sendable {
    /// `[B, T]` ids and attention mask (Int32, 1 = real token), padded to this batch's longest row.
    public let encoded: EncodedBatch
    /// `[B]` labels 0/1.
    public let labels: [Int32]
    /// Pool indices of the rows, in row order.
    public let indices: [Int]

    /// Labels as Float (for a sigmoid/BCE head).
    public var labelsFloat: [Float] { labels.map { Float($0) } }
}

/// The pool of a split, tokenized once (`[CLS] pieces [SEP]`, truncated to `maxLength`), from
/// which batches are cut by index lists.
public struct SSTEncodedPool: Sendable {
    public let ids: [[Int32]]
    public let labels: [Int32]
    public let padID: Int32

    /// Tokenizes every pool example. Unlabeled examples get label -1.
    public init(split: SSTSplit, tokenizer: BertTokenizer, maxLength: Int? = 128) {
        ids = split.pool.map { tokenizer.encode($0.text, maxLength: maxLength) }
        labels = split.pool.map { Int32($0.label ?? -1) }
        padID = tokenizer.padID
    }

    /// One batch of the given pool indices, dynamically padded.
    public func batch(_ indices: [Int]) -> TextBatch {
        TextBatch(encoded: EncodedBatch(sequences: indices.map { ids[$0] }, padID: padID),
                  labels: indices.map { labels[$0] }, indices: indices)
    }

    /// `order` cut into consecutive batches of `batchSize` (the last one may be smaller).
    public func batches(_ order: [Int], batchSize: Int) -> [TextBatch] {
        precondition(batchSize > 0)
        return stride(from: 0, to: order.count, by: batchSize).map {
            batch(Array(order[$0..<min($0 + batchSize, order.count)]))
        }
    }
}

extension SSTEncodedPool {
    /// A pool of already encoded sequences (cost probes and tests; no tokenizer involved).
    public init(ids: [[Int32]], labels: [Int32], padID: Int32) {
        self.ids = ids
        self.labels = labels
        self.padID = padID
    }
}
