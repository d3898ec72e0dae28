import Foundation
import Tensors
import Layers

/// Shared body of `BertModel` and `DistilBertModel`: embeddings and a stack of post-LN blocks,
/// split at an attach point so the SideNet can read block N's [CLS] state and the MainNet can
/// continue from there without recomputation.
///
/// Calling protocol (one pending forward, llm.c style):
///   h = forwardPrefix(batch, throughLayer: N, mode:)       // embeddings + layers 0...N, [B,T,D]
///   f = forwardRest(h, mask: batch.mask, fromLayer: N+1, mode:) // layers N+1..., then features [B,D]
///   dh = backwardRest(df)                                  // [B,T,D]
///   dh += clsGradient(dCLS)  (SideNet gradient at position 0)
///   backwardPrefix(dh)
/// Caches for backward are kept only when `cache` is true (default: mode == .train).
public class TransformerEncoder: Module {
    /// Architecture numbers.
    public let shape: TransformerShape
    /// Key prefix of the block list: "encoder.layer" (BERT) or "transformer.layer" (DistilBERT).
    public let layerPrefix: String
    /// Generator of the dropout masks (train mode only). Reseed for reproducible runs.
    public var rng: SeededGenerator
    let embeddings: TransformerEmbeddings
    let layers: [TransformerLayer]

    private var prefixThrough: Int? = nil   // last block run by the pending prefix
    private var restFrom: Int? = nil        // first block run by the pending rest pass
    var restB = 0, restT = 0

    /// `initialize` false skips the HF init: the blocks' weights stay unset until a load writes them.
    init(shape: TransformerShape, layerPrefix: String, names: TransformerLayerNames, seed: UInt64, initialize: Bool = true) {
        self.shape = shape
        self.layerPrefix = layerPrefix
        var init_ = SeededGenerator(seed: seed)
        embeddings = TransformerEmbeddings(shape: shape, rng: &init_)
        layers = (0..<shape.layers).map { _ in TransformerLayer(shape: shape, names: names) }
        rng = SeededGenerator(seed: seed).derived("dropout")
        var hf = SeededGenerator(seed: seed).derived("init")
        if initialize { hfInitialize(namedParameters(), rng: &hf) }
    }

    /// How published (HF) weight files name this encoder's tensors (set by each family).
    var weightNaming: WeightNaming { WeightNaming(format: "state_dict names") }

    /// Hidden size D.
    public var hiddenSize: Int { shape.hidden }
    /// Number of blocks.
    public var numLayers: Int { shape.layers }

    public func namedParameters() -> [(String, Parameter)] {
        var out = scoped("embeddings", embeddings.namedParameters())
        for (i, l) in layers.enumerated() { out += scoped("\(layerPrefix).\(i)", l.namedParameters()) }
        return out
    }

    // MARK: forward

    /// Embeddings and blocks 0...n (n = -1: embeddings only). Returns hidden states [B, T, D].
    public func forwardPrefix(_ batch: TokenBatch, throughLayer n: Int, mode: Mode, cache: Bool? = nil) throws -> Tensor {
        guard n >= -1 && n < numLayers else {
            throw TextModelError.invalidInput("throughLayer \(n) outside -1..<\(numLayers)")
        }
        let keep = cache ?? (mode == .train)
        var h = try embeddings.forward(batch, mode: mode, cache: keep, rng: &rng)
        let bias = batch.maskBias
        if n >= 0 {
            for i in 0...n {
                h = layers[i].forward(h, batch: batch.batchSize, length: batch.length, maskBias: bias,
                                      mode: mode, cache: keep, rng: &rng)
            }
        }
        prefixThrough = keep ? n : nil
        return h.reshaped([batch.batchSize, batch.length, hiddenSize])
    }

    /// Blocks m..<L on hidden states [B, T, D] with their mask [B, T], then the features [B, D]
    /// (BERT: pooler output; DistilBERT: [CLS] hidden state). m = L runs no block.
    public func forwardRest(_ hidden: Tensor, mask: Tensor, fromLayer m: Int, mode: Mode, cache: Bool? = nil) throws -> Tensor {
        let h = try forwardRestHidden(hidden, mask: mask, fromLayer: m, mode: mode, cache: cache)
        return features(h, cache: cache ?? (mode == .train))
    }

    /// Blocks m..<L only: the last hidden states [B, T, D] (HF `last_hidden_state`).
    public func forwardRestHidden(_ hidden: Tensor, mask: Tensor, fromLayer m: Int, mode: Mode, cache: Bool? = nil) throws -> Tensor {
        guard m >= 0 && m <= numLayers else {
            throw TextModelError.invalidInput("fromLayer \(m) outside 0...\(numLayers)")
        }
        guard hidden.rank == 3, hidden.shape[2] == hiddenSize, mask.shape == [hidden.shape[0], hidden.shape[1]] else {
            throw TextModelError.invalidInput("hidden \(hidden.shape) with mask \(mask.shape); expected [B,T,\(hiddenSize)] and [B,T]")
        }
        let keep = cache ?? (mode == .train)
        let b = hidden.shape[0], t = hidden.shape[1]
        let bias = mask.data.map { $0 == 0 ? -Float.greatestFiniteMagnitude : 0 }
        var h = hidden.reshaped([b * t, hiddenSize])
        for i in m..<numLayers {
            h = layers[i].forward(h, batch: b, length: t, maskBias: bias, mode: mode, cache: keep, rng: &rng)
        }
        restFrom = keep ? m : nil
        restB = b; restT = t
        return h.reshaped([b, t, hiddenSize])
    }

    /// Whole model: the features [B, D].
    public func forward(_ batch: TokenBatch, mode: Mode, cache: Bool? = nil) throws -> Tensor {
        let h = try forwardPrefix(batch, throughLayer: -1, mode: mode, cache: cache)
        return try forwardRest(h, mask: batch.mask, fromLayer: 0, mode: mode, cache: cache)
    }

    /// Whole model: the last hidden states [B, T, D].
    public func forwardHidden(_ batch: TokenBatch, mode: Mode) throws -> Tensor {
        let h = try forwardPrefix(batch, throughLayer: -1, mode: mode, cache: false)
        return try forwardRestHidden(h, mask: batch.mask, fromLayer: 0, mode: mode, cache: false)
    }

    /// Model-specific features from the last hidden states (overridden by BERT's pooler).
    func features(_ hidden: Tensor, cache: Bool) -> Tensor { TransformerEncoder.cls(hidden) }

    /// The same features from the last [CLS] states [B, D] alone (eval; overridden by BERT).
    func features(cls: Tensor) -> Tensor { cls }

    /// d(features) [B, D] -> d(last hidden) [B, T, D] (overridden by BERT's pooler).
    func featuresBackward(_ dFeatures: Tensor, batch b: Int, length t: Int) -> Tensor {
        TransformerEncoder.clsGradient(dFeatures, length: t)
    }

    // MARK: backward

    /// Backward through the features and the blocks of the pending `forwardRest`; adds into
    /// parameter gradients and returns d(hidden) [B, T, D] at its input.
    public func backwardRest(_ dFeatures: Tensor) -> Tensor {
        guard let m = restFrom else { preconditionFailure("backwardRest without a cached forwardRest") }
        let dh = featuresBackward(dFeatures, batch: restB, length: restT)
        return backwardRestHidden(dh, fromLayer: m)
    }

    func backwardRestHidden(_ dHidden: Tensor, fromLayer m: Int) -> Tensor {
        var g = dHidden.reshaped([dHidden.count / hiddenSize, hiddenSize])
        for i in stride(from: numLayers - 1, through: m, by: -1) { g = layers[i].backward(g) }
        restFrom = nil
        return g.reshaped(dHidden.shape)
    }

    /// Backward through the blocks and embeddings of the pending `forwardPrefix`, given
    /// d(hidden) [B, T, D] at its output (add the SideNet's `clsGradient` first).
    public func backwardPrefix(_ dHidden: Tensor) {
        guard let n = prefixThrough else { preconditionFailure("backwardPrefix without a cached forwardPrefix") }
        var g = dHidden.reshaped([dHidden.count / hiddenSize, hiddenSize])
        if n >= 0 { for i in stride(from: n, through: 0, by: -1) { g = layers[i].backward(g) } }
        embeddings.backward(g)
        prefixThrough = nil
    }

    // MARK: [CLS] helpers

    /// The [CLS] (position 0) rows of hidden states [B, T, D] -> [B, D]. At an attach point this is
    /// the SideNet input.
    public static func cls(_ hidden: Tensor) -> Tensor {
        let b = hidden.shape[0], t = hidden.shape[1], d = hidden.shape[2]
        var out = Tensor(zeros: [b, d])
        for i in 0..<b { for j in 0..<d { out.data[i * d + j] = hidden.data[i * t * d + j] } }
        return out
    }

    /// The gradient of `cls` : d[CLS] [B, D] -> d(hidden) [B, T, D], zero outside position 0.
    public static func clsGradient(_ dCLS: Tensor, length t: Int) -> Tensor {
        let b = dCLS.shape[0], d = dCLS.shape[1]
        var out = Tensor(zeros: [b, t, d])
        for i in 0..<b { for j in 0..<d { out.data[i * t * d + j] = dCLS.data[i * d + j] } }
        return out
    }
}
