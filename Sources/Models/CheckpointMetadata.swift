import Foundation

/// What `sidenet run` writes into each checkpoint's safetensors `__metadata__` (README.md,
/// "Checkpoints"): which run it belongs to, under which regime, what its tensors cover, and the
/// state a resume needs. `sidenet eval` and resume read it instead of guessing from tensor names.
public struct RunCheckpointMetadata: Equatable, Sendable {
    public var experiment: String
    public var specHash: String
    /// "sidenet" or "baseline" (the run variant).
    public var variant: String
    public var seed: Int
    /// The spec's `training.regime` name.
    public var regime: String
    /// What the tensors cover, the regime's checkpoint contents ("full" or "heads").
    public var contents: String
    /// The epoch whose end state the file holds.
    public var epoch: Int
    /// The plateau schedule's state as JSON (resume).
    public var plateau: String?
    /// The best monitored validation value so far, its epoch and checkpoint file (resume).
    public var bestValue: Double?
    public var bestEpoch: Int?
    public var bestPath: String?

    public init(experiment: String, specHash: String, variant: String, seed: Int, regime: String, contents: String,
                epoch: Int, plateau: String? = nil, bestValue: Double? = nil, bestEpoch: Int? = nil, bestPath: String? = nil) {
        self.experiment = experiment; self.specHash = specHash; self.variant = variant; self.seed = seed
        self.regime = regime; self.contents = contents; self.epoch = epoch; self.plateau = plateau
        self.bestValue = bestValue; self.bestEpoch = bestEpoch; self.bestPath = bestPath
    }

    /// The `__metadata__` entries (string values, as safetensors requires).
    public var entries: [String: String] {
        var m = ["experiment": experiment, "spec_hash": specHash, "variant": variant, "seed": "\(seed)",
                 "regime": regime, "contents": contents, "epoch": "\(epoch)"]
        if let plateau { m["plateau"] = plateau }
        if let bestValue { m["best_value"] = "\(bestValue)" }
        if let bestEpoch { m["best_epoch"] = "\(bestEpoch)" }
        if let bestPath { m["best_path"] = bestPath }
        return m
    }

    /// Reads the entries of a checkpoint (`file` names it in errors). Every identity field is
    /// required: a file without them was not written by `sidenet run`.
    public init(entries m: [String: String], file: String) throws {
        func text(_ key: String) throws -> String {
            guard let v = m[key], !v.isEmpty else { throw CheckpointMetadataError(file: file, key: key, problem: "is missing") }
            return v
        }
        func int(_ key: String) throws -> Int {
            let v = try text(key)
            guard let i = Int(v) else { throw CheckpointMetadataError(file: file, key: key, problem: "is '\(v)', not an integer") }
            return i
        }
        func optional<T>(_ key: String, _ parse: (String) -> T?) throws -> T? {
            guard let v = m[key] else { return nil }
            guard let x = parse(v) else { throw CheckpointMetadataError(file: file, key: key, problem: "is '\(v)', not a number") }
            return x
        }
        self.init(experiment: try text("experiment"), specHash: try text("spec_hash"), variant: try text("variant"),
                  seed: try int("seed"), regime: try text("regime"), contents: try text("contents"), epoch: try int("epoch"),
                  plateau: m["plateau"], bestValue: try optional("best_value", Double.init),
                  bestEpoch: try optional("best_epoch", Int.init), bestPath: m["best_path"])
    }
}

/// A checkpoint's metadata lacks a field `sidenet run` writes, or holds an unreadable value.
public struct CheckpointMetadataError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var key: String
    public var problem: String
    public var description: String {
        "\(file): checkpoint metadata '\(key)' \(problem) (sidenet reads checkpoints written by `sidenet run`, "
            + "whose metadata names the experiment, variant, seed, regime and contents)"
    }
}
