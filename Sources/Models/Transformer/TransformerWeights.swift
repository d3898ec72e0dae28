import Foundation
import Tensors
import WeightIO

// Loading HF BERT / DistilBERT weights (formats.md 6.2, 6.3):
//  - the `bert.` / `distilbert.` prefix is stripped (its absence accepted);
//  - `LayerNorm.gamma` / `LayerNorm.beta` become `LayerNorm.weight` / `LayerNorm.bias`;
//  - buffers `embeddings.position_ids` / `embeddings.token_type_ids` are ignored silently;
//  - task heads are ignored deliberately and reported as warnings: BERT `cls.*`, `classifier.*`;
//    DistilBERT `vocab_*`, `pre_classifier.*`, `classifier.*` (and a `pooler.*`, which it lacks);
//  - everything else is strict: a missing, unexpected or mis-shaped tensor is an error naming
//    the key and both shapes.

extension TransformerEncoder {
    /// The hub prefix this encoder strips ("bert." / "distilbert.").
    var hubPrefix: String { layerPrefix == "encoder.layer" ? "bert." : "distilbert." }

    /// Top-level keys (after prefix stripping) that belong to task heads and are skipped with a warning.
    var ignoredHeadPrefixes: [String] {
        layerPrefix == "encoder.layer"
            ? ["cls.", "classifier."]
            : ["vocab_transform.", "vocab_layer_norm.", "vocab_projector.", "pre_classifier.", "classifier.", "pooler."]
    }

    /// Loads weights from an HF file (`model.safetensors` or `pytorch_model.bin`, detected by
    /// content through `WeightFile.load`). Returns warnings (ignored head tensors).
    @discardableResult
    public func loadWeights(contentsOf url: URL) throws -> [String] {
        try loadWeights(try WeightFile.load(url), source: url.lastPathComponent)
    }

    /// Loads HF-named stored tensors (converted to Float one by one). Returns warnings.
    @discardableResult
    public func loadWeights(_ stored: [String: StoredTensor], source: String) throws -> [String] {
        try loadStrict(stored, source: source)
    }

    /// Loads HF-named Float tensors. Returns warnings.
    @discardableResult
    public func loadWeights(_ tensors: [String: Tensor], source: String) throws -> [String] {
        let stored = tensors.mapValues { StoredTensor($0) }
        return try loadWeights(stored, source: source)
    }

    private func loadStrict(_ stored: [String: StoredTensor], source: String) throws -> [String] {
        let params = Dictionary(uniqueKeysWithValues: namedParameters())
        var mapped: [String: (original: String, tensor: StoredTensor)] = [:]
        var ignored: [String: [String]] = [:]
        for (key, t) in stored {
            var k = key
            if k.hasPrefix(hubPrefix) { k.removeFirst(hubPrefix.count) }
            if k.hasSuffix("LayerNorm.gamma") { k = String(k.dropLast("gamma".count)) + "weight" }
            if k.hasSuffix("LayerNorm.beta") { k = String(k.dropLast("beta".count)) + "bias" }
            if k == "embeddings.position_ids" || k == "embeddings.token_type_ids" { continue }
            if params[k] == nil, let p = ignoredHeadPrefixes.first(where: { k.hasPrefix($0) }) {
                ignored[p, default: []].append(key)
                continue
            }
            guard params[k] != nil else {
                throw TextModelError.unexpectedTensor(key: key, shape: t.shape, source: source)
            }
            if let prev = mapped[k] {
                throw TextModelError.invalidInput("\(source): tensors \"\(prev.original)\" and \"\(key)\" both map to \"\(k)\"")
            }
            mapped[k] = (key, t)
        }
        // validate everything before writing anything
        for (k, p) in params.sorted(by: { $0.key < $1.key }) {
            guard let m = mapped[k] else {
                throw TextModelError.missingTensor(key: k, expectedShape: p.shape, source: source)
            }
            guard m.tensor.shape == p.shape else {
                throw TextModelError.shapeMismatch(key: m.original, expected: p.shape, found: m.tensor.shape, source: source)
            }
            guard m.tensor.dtype.isFloatingPoint else {
                throw TextModelError.invalidInput("\(source): tensor \"\(m.original)\" has integer dtype \(m.tensor.dtype)")
            }
        }
        for (k, p) in params {
            p.value = Tensor(shape: p.shape, data: try mapped[k]!.tensor.floats())
        }
        return ignored.keys.sorted().map { p in
            let keys = ignored[p]!.sorted()
            return "\(source): ignored \(keys.count) task-head tensor(s) under \(p)* (e.g. \(keys[0]))"
        }
    }
}
