import Foundation
import Tensors
import WeightIO

// Loading HF BERT / DistilBERT weights (formats.md 6.2, 6.3) through the one strict loader:
// the family's `WeightNaming` strips the hub prefix, renames LayerNorm.gamma/beta, drops
// position_ids / token_type_ids, and skips task heads (reported as warnings); everything else
// is strict (`ModelError` naming the key and both shapes).

extension TransformerEncoder {
    /// Loads weights from an HF file (`model.safetensors`, streamed, or `pytorch_model.bin`,
    /// detected by content through `WeightFile.open`). Returns warnings (ignored head tensors).
    @discardableResult
    public func loadWeights(contentsOf url: URL) throws -> [String] {
        try loadWeights(try WeightFile.open(url), source: url.lastPathComponent)
    }

    /// Loads HF-named tensors read on demand (`WeightFile.open`). Returns one warning per skipped task head.
    @discardableResult
    public func loadWeights(_ streamed: [String: StreamedTensor], source: String) throws -> [String] {
        let naming = weightNaming
        return naming.warnings(try naming.load(streamed, into: self, source: source), source: source)
    }

    /// Loads HF-named stored tensors. Returns one warning per skipped task head.
    @discardableResult
    public func loadWeights(_ stored: [String: StoredTensor], source: String) throws -> [String] {
        let naming = weightNaming
        return naming.warnings(try naming.load(stored, into: self, source: source), source: source)
    }

    /// Loads HF-named Float tensors. Returns warnings.
    @discardableResult
    public func loadWeights(_ tensors: [String: Tensor], source: String) throws -> [String] {
        try loadWeights(tensors.mapValues { StoredTensor($0) }, source: source)
    }
}
