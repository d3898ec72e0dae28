import Foundation

// What BERT and DistilBERT share as families: the attach-point grammar `<prefix>.N` (after
// block N, 0-based; unit N+1), HF config.json model_type detection, and the number checks.

struct TextAttachGrammar {
    let family: String
    /// "encoder.layer" / "transformer.layer".
    let prefix: String

    /// Unit of `<prefix>.N` (N+1), nil when `layers` is unknown and the name is well formed.
    func unit(_ name: String, layers: Int?) throws -> Int? {
        let allowed = "allowed: \(prefix).N with N in 0...\(layers.map { "\($0 - 1)" } ?? "layers-1") (0-based block index)"
        let tail = name.hasPrefix(prefix + ".") ? String(name.dropFirst(prefix.count + 1)) : ""
        guard let n = Int(tail), n >= 0, tail == "\(n)" else {
            throw ModelError.badAttachPoint(name, reason: "not a \(family) attach point; \(allowed)")
        }
        guard let layers else { return nil }
        guard n < layers else { throw ModelError.badAttachPoint(name, reason: "the model has \(layers) layers; \(allowed)") }
        return n + 1
    }

    func name(afterBlock n: Int) -> String { "\(prefix).\(n)" }
}

/// The `model_type` of an HF config.json, or nil.
func hfModelType(_ data: Data) -> String? {
    (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["model_type"] as? String
}

extension FamilyConfig {
    /// A dropout probability field: 0 <= p < 1.
    func probability(_ key: String, default def: Double) throws -> Double {
        try double(key, default: def, allowed: "0 <= x < 1") { $0 >= 0 && $0 < 1 }
    }

    /// Throws unless `heads` divides `width` (field `headsKey`).
    func requireDivides(_ heads: Int, _ width: Int, headsKey: String, widthKey: String) throws {
        guard width % heads == 0 else {
            throw FamilyConfigError(.invalid, field: headsKey, "\(heads) does not divide \(widthKey) \(width)")
        }
    }
}
