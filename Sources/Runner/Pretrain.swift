import Foundation
import Specs
import Store
import WeightIO

/// Pretrains a MainNet body on a pretraining spec (the demo's stand-in for ImageNet / BERT's
/// pretraining) and writes it as a weight file in the format the paper profile reads: torchvision
/// key names for ResNets (no `fc.*`), HuggingFace names with the `bert.` / `distilbert.` prefix
/// for transformers; safetensors either way. The MainNet head and the SideNet are not written
/// (a fine-tuning experiment replaces the head, as the paper replaces ImageNet's fc).
///
/// The file carries `pretrain_key` = hash of (spec hash, data identity): when the file already
/// holds that key nothing is trained, so every seed and variant of every experiment naming it,
/// and every later run, reuses one pretraining. The training itself is an ordinary run of the
/// spec's `baseline` variant and first seed (MainNet alone, regime full) in the given store, so
/// an interrupted pretraining resumes.
public enum Pretrainer {
    public struct Outcome: Equatable {
        public var path: String
        public var reused: Bool
        public var key: String
        /// Test accuracy of the pretrained MainNet on the pretraining task (nil when reused).
        public var testAccMain: Double?
    }

    public enum Failure: Error, CustomStringConvertible {
        case invalidSpec(String)
        case runFailed(String)

        public var description: String {
            switch self {
            case .invalidSpec(let s): return s
            case .runFailed(let s): return s
            }
        }
    }

    /// The cache key of a pretraining: spec hash and the identity (content digests) of its data.
    public static func key(_ spec: ExperimentSpec, baseDir: URL) throws -> String {
        let data = try PreparedData.load(spec, baseDir: baseDir)
        return FileDigest.hash("pretrain-v1|\(spec.specHash)|\(data.identity)")
    }

    /// The key stored in `url`'s metadata, if it is a readable safetensors file.
    public static func storedKey(at url: URL) -> String? {
        guard let f = try? SafeTensorsFile(contentsOf: url) else { return nil }
        return f.metadata["pretrain_key"]
    }

    public static func pretrain(_ spec: ExperimentSpec, out: URL, store: ResultStore, options: RunOptions) throws -> Outcome {
        guard spec.training.regime.declaration.backbone.isTrained, spec.variants.contains(.baseline) else {
            throw Failure.invalidSpec("\(spec.name): a pretraining spec trains the MainNet alone: regime full and variant baseline")
        }
        guard spec.mainnet.weights == nil else {
            throw Failure.invalidSpec("\(spec.name): a pretraining spec starts from random weights (mainnet.weights: null)")
        }
        let key = try key(spec, baseDir: options.baseDir)
        if storedKey(at: out) == key {
            options.progress.note("\(spec.name): pretrained weights up to date in \(out.path), reused")
            return Outcome(path: out.path, reused: true, key: key, testAccMain: nil)
        }
        var o = options
        o.variants = [.baseline]
        o.seeds = spec.seeds
        let runner = Runner(store: store, options: o)
        let outcomes = try runner.run([spec])
        for outcome in outcomes where !(outcome.status == .finished || outcome.status == .skipped) {
            throw Failure.runFailed("\(spec.name): pretraining run seed \(outcome.seed) \(outcome.status.rawValue)"
                                    + (outcome.reason.map { ": \($0)" } ?? ""))
        }
        guard !outcomes.isEmpty else { throw Failure.runFailed("\(spec.name): pretraining run not started") }
        let best = try bestCheckpoint(spec, store: store)
        options.progress.note("\(spec.name): exporting seed \(best.seed) (validation accuracy \(best.valAcc) at its selected epoch)")
        try export(best.url, spec: spec, key: key, to: out)
        return Outcome(path: out.path, reused: false, key: key,
                       testAccMain: outcomes.first { $0.seed == best.seed }?.testAccMain)
    }

    /// The best checkpoint of the seed whose selected epoch has the highest validation accuracy
    /// (ties: the earlier seed in the spec). Small post-LN encoders trained from random weights
    /// without warm-up can settle at a plateau for some initialisations; restarts chosen on
    /// validation data (never test data) are the usual remedy, and a spec with one seed keeps it.
    static func bestCheckpoint(_ spec: ExperimentSpec, store: ResultStore) throws -> (url: URL, seed: Int, valAcc: Double) {
        var best: (url: URL, seed: Int, valAcc: Double)? = nil
        for e in try store.experiments(named: spec.name) where e.specHash == spec.specHash {
            guard let eid = e.id else { continue }
            for r in try store.runs(experiment: eid) where r.variant == .baseline {
                guard let rid = r.id, let c = try store.checkpoint(runId: rid, kind: .best),
                      let rank = spec.seeds.firstIndex(of: r.seed) else { continue }
                let acc = try store.epochs(runId: rid).first { $0.epoch == c.epoch }?.valAccMain ?? -1
                if let b = best, !(acc > b.valAcc || (acc == b.valAcc && rank < spec.seeds.firstIndex(of: b.seed)!)) { continue }
                best = (URL(fileURLWithPath: c.path), r.seed, acc)
            }
        }
        guard let best else { throw Failure.runFailed("\(spec.name): the pretraining run has no best checkpoint in \(store.path)") }
        return best
    }

    /// Body tensors of a full-regime checkpoint under the public names of the architecture.
    static func export(_ checkpoint: URL, spec: ExperimentSpec, key: String, to out: URL) throws {
        let file = try SafeTensorsFile(contentsOf: checkpoint)
        let naming = spec.mainnet.arch.family.weightNaming
        var tensors: [String: StoredTensor] = [:]
        for (k, t) in file.tensors where !k.hasPrefix("head.") && !k.hasPrefix("sidenet.") && !k.hasPrefix("sidenets.")
            && !k.hasPrefix("optim.") {
            tensors[naming.hubPrefix + k] = t
        }
        let meta = ["pretrain_key": key, "pretrain_spec": spec.name, "spec_hash": spec.specHash,
                    "format": naming.format,
                    "note": "SYNTHETIC: pretrained by sidenet on generated stand-in data, not the published weights' pretraining data"]
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = out.deletingLastPathComponent().appendingPathComponent(".\(out.lastPathComponent).tmp")
        try SafeTensors.write(tensors, metadata: meta, to: tmp)
        _ = try? FileManager.default.removeItem(at: out)
        try FileManager.default.moveItem(at: tmp, to: out)
    }
}
