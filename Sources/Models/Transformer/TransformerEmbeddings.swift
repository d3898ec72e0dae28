import Foundation
import Tensors
import Layers

/// A batch of token sequences of one common length T (already padded), with the attention
/// mask HF expects: 1 for real tokens, 0 for padding. Single sentences: token types all 0.
public struct TokenBatch {
    public let batchSize: Int
    public let length: Int
    /// Token ids [B*T], row-major.
    public var ids: [Int]
    /// Attention mask [B, T] with 1 (attend) or 0 (padding).
    public var mask: Tensor

    /// Ids [B*T] and mask [B, T] of the same size.
    public init(ids: [Int], mask: Tensor) throws {
        guard mask.rank == 2, mask.count == ids.count, mask.shape[0] > 0, mask.shape[1] > 0 else {
            throw TextModelError.invalidInput("token batch: \(ids.count) ids with mask shape \(mask.shape)")
        }
        for m in mask.data where m != 0 && m != 1 {
            throw TextModelError.invalidInput("attention mask values must be 0 or 1, found \(m)")
        }
        batchSize = mask.shape[0]
        length = mask.shape[1]
        self.ids = ids
        self.mask = mask
    }

    /// Pads ragged sequences with `padID` to `length` (default: the longest) and builds the mask.
    public init(padding sequences: [[Int]], length: Int? = nil, padID: Int = 0) throws {
        guard !sequences.isEmpty else { throw TextModelError.invalidInput("token batch: no sequences") }
        let t = length ?? sequences.map(\.count).max()!
        guard t > 0 else { throw TextModelError.invalidInput("token batch: empty sequences") }
        var ids = [Int](repeating: padID, count: sequences.count * t)
        var mask = Tensor(zeros: [sequences.count, t])
        for (i, s) in sequences.enumerated() {
            guard s.count <= t, !s.isEmpty else {
                throw TextModelError.invalidInput("token batch: sequence \(i) has \(s.count) tokens, allowed 1...\(t)")
            }
            for (j, id) in s.enumerated() { ids[i * t + j] = id; mask.data[i * t + j] = 1 }
        }
        try self.init(ids: ids, mask: mask)
    }

    /// The examples at `rows`, in that order (ids and mask together).
    public func gatherRows(_ rows: [Int]) -> TokenBatch {
        var sub: [Int] = []
        sub.reserveCapacity(rows.count * length)
        for r in rows { sub.append(contentsOf: ids[(r * length)..<((r + 1) * length)]) }
        return try! TokenBatch(ids: sub, mask: mask.gatherRows(rows))
    }

    /// Additive attention bias [B, T]: 0 where mask = 1, the most negative finite Float where 0 (HF).
    public var maskBias: [Float] { mask.data.map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 } }
}

/// Word + position (+ token type, BERT only) embeddings → LayerNorm → dropout.
/// Names: `word_embeddings`, `position_embeddings`, `token_type_embeddings`, `LayerNorm`.
/// Shapes: ids [B*T] -> [B*T, D].
final class TransformerEmbeddings: Module {
    let word: Embedding
    let position: Embedding
    let tokenType: Embedding?
    let norm: LayerNorm
    let dim: Int
    let dropout: Float
    private var dropMask: [Float]? = nil
    private var cached = false

    init(shape s: TransformerShape, rng: inout SeededGenerator) {
        dim = s.hidden
        dropout = s.hiddenDropout
        word = Embedding(numEmbeddings: s.vocab, dim: s.hidden, rng: &rng)
        position = Embedding(numEmbeddings: s.maxPositions, dim: s.hidden, rng: &rng)
        tokenType = s.typeVocab > 0 ? Embedding(numEmbeddings: s.typeVocab, dim: s.hidden, rng: &rng) : nil
        norm = LayerNorm(dim: s.hidden, eps: s.eps)
    }

    func namedParameters() -> [(String, Parameter)] {
        var out = scoped("word_embeddings", word.namedParameters()) + scoped("position_embeddings", position.namedParameters())
        if let tokenType { out += scoped("token_type_embeddings", tokenType.namedParameters()) }
        return out + scoped("LayerNorm", norm.namedParameters())
    }

    func forward(_ batch: TokenBatch, mode: Mode, cache: Bool, rng: inout SeededGenerator) throws -> Tensor {
        let t = batch.length, n = batch.ids.count
        guard t <= position.numEmbeddings else {
            throw TextModelError.invalidInput("sequence length \(t) exceeds max_position_embeddings \(position.numEmbeddings)")
        }
        for (i, id) in batch.ids.enumerated() where id < 0 || id >= word.numEmbeddings {
            throw TextModelError.invalidInput("token id \(id) at position \(i) outside vocabulary 0..<\(word.numEmbeddings)")
        }
        var x = word.forward(ids: batch.ids.map { Int32($0) }, shape: [n])
        let p = position.forward(ids: (0..<n).map { Int32($0 % t) }, shape: [n])
        for i in 0..<x.count { x.data[i] += p.data[i] }
        if let tokenType {
            // token_type_ids are all 0 for single sentences
            let tt = tokenType.forward(ids: [Int32](repeating: 0, count: n), shape: [n])
            for i in 0..<x.count { x.data[i] += tt.data[i] }
        }
        var y = norm.forward(x)
        let m = TransformerDropout.mask(count: y.count, p: dropout, mode: mode, rng: &rng)
        TransformerDropout.apply(&y, m)
        dropMask = m
        cached = cache
        return y
    }

    // dy: [B*T, D]; scatters into the embedding tables.
    func backward(_ dy: Tensor) {
        precondition(cached, "TransformerEmbeddings.backward without a cached forward")
        var g = dy
        TransformerDropout.apply(&g, dropMask)
        let dx = norm.backward(g)
        word.backward(dx)
        position.backward(dx)
        tokenType?.backward(dx)
        cached = false
        dropMask = nil
    }
}
