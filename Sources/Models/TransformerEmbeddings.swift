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
/// Shapes: ids [B*T] -> [B, T, D].
final class TransformerEmbeddings: Module {
    let word: Parameter
    let position: Parameter
    let tokenType: Parameter?
    let norm: TransformerLayerNorm
    let dim: Int
    let dropout: Float
    private var cachedIDs: [Int] = []
    private var cachedT = 0
    private var dropMask: [Float]? = nil

    init(shape s: TransformerShape, rng: inout SeededGenerator) {
        dim = s.hidden
        dropout = s.hiddenDropout
        word = Parameter(Tensor.normal([s.vocab, s.hidden], std: 0.02, rng: &rng))
        position = Parameter(Tensor.normal([s.maxPositions, s.hidden], std: 0.02, rng: &rng))
        tokenType = s.typeVocab > 0 ? Parameter(Tensor.normal([s.typeVocab, s.hidden], std: 0.02, rng: &rng)) : nil
        norm = TransformerLayerNorm(s.hidden, eps: s.eps)
    }

    func namedParameters() -> [(String, Parameter)] {
        var out: [(String, Parameter)] = [("word_embeddings.weight", word), ("position_embeddings.weight", position)]
        if let tokenType { out.append(("token_type_embeddings.weight", tokenType)) }
        return out + scoped("LayerNorm", norm.namedParameters())
    }

    func forward(_ batch: TokenBatch, mode: Mode, cache: Bool, rng: inout SeededGenerator) throws -> [Float] {
        let t = batch.length, d = dim
        let vocab = word.shape[0]
        guard t <= position.shape[0] else {
            throw TextModelError.invalidInput("sequence length \(t) exceeds max_position_embeddings \(position.shape[0])")
        }
        var x = [Float](repeating: 0, count: batch.ids.count * d)
        let w = word.value.data, p = position.value.data, tt = tokenType?.value.data
        for (i, id) in batch.ids.enumerated() {
            guard id >= 0 && id < vocab else {
                throw TextModelError.invalidInput("token id \(id) at position \(i) outside vocabulary 0..<\(vocab)")
            }
            let pos = i % t
            for j in 0..<d {
                // token_type_ids are all 0 for single sentences: row 0 of the type table
                x[i * d + j] = w[id * d + j] + p[pos * d + j] + (tt?[j] ?? 0)
            }
        }
        var y = norm.forward(x, cache: cache)
        let m = TransformerDropout.mask(count: y.count, p: dropout, mode: mode, rng: &rng)
        TransformerDropout.apply(&y, m)
        if cache { cachedIDs = batch.ids; cachedT = t; dropMask = m } else { clearCache() }
        return y
    }

    // dy: [B, T, D]; scatters into the embedding tables.
    func backward(_ dy: [Float]) {
        precondition(!cachedIDs.isEmpty, "TransformerEmbeddings.backward without a cached forward")
        var g = dy
        TransformerDropout.apply(&g, dropMask)
        let dx = norm.backward(g)
        let d = dim, t = cachedT
        for (i, id) in cachedIDs.enumerated() {
            if !word.frozen { for j in 0..<d { word.grad.data[id * d + j] += dx[i * d + j] } }
            if !position.frozen { for j in 0..<d { position.grad.data[(i % t) * d + j] += dx[i * d + j] } }
            if let tokenType, !tokenType.frozen { for j in 0..<d { tokenType.grad.data[j] += dx[i * d + j] } }
        }
        clearCache()
    }

    func clearCache() { cachedIDs = []; dropMask = nil; norm.clearCache() }
}
