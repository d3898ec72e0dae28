import Foundation
import Models
import Optim
import Specs
import Tensors
import WeightIO

/// A run's checkpoints: what the regime declares a checkpoint holds, plus (resume point) the
/// Adam state under `optim.*`, with `RunCheckpointMetadata` saying which run, regime and epoch
/// it is and the schedule and best-epoch state a resume continues from.
/// The selected epoch so far (model selection): its validation value and checkpoint.
struct BestEpoch {
    var value = Double.infinity
    var epoch: Int?
    var path: String?
}

/// Writes a run's checkpoint: `module`'s state (plus Adam's under `optim.*` when asked) and the
/// metadata resume and evaluation read. The one writer of single runs and lockstep groups, so a
/// run resumes alone or in a group from either.
func writeRunCheckpoint(to url: URL, module: Module, spec: ExperimentSpec, variant: Variant, seed: Int, epoch: Int,
                        adam: Adam, plateau: ReduceLROnPlateau, best: BestEpoch, includeOptimizer: Bool) throws {
    var tensors = storedStateDict(module)
    if includeOptimizer {
        for (k, t) in adam.stateTensors() { tensors["optim." + k] = StoredTensor(t) }
    }
    let declaration = spec.training.regime.declaration
    let plateauJSON = String(data: try JSONEncoder().encode(plateau.exportState()), encoding: .utf8) ?? "{}"
    let meta = RunCheckpointMetadata(experiment: spec.name, specHash: spec.specHash, variant: variant.rawValue, seed: seed,
                                     regime: declaration.regime.rawValue, contents: declaration.checkpoint.rawValue,
                                     epoch: epoch, plateau: plateauJSON,
                                     bestValue: best.value.isFinite ? best.value : nil, bestEpoch: best.epoch,
                                     bestPath: best.path)
    try SafeTensors.write(tensors, metadata: meta.entries, to: url)
}

extension RunJob {
    func saveState(to url: URL, epoch: Int, adam: Adam, plateau: ReduceLROnPlateau, best: BestEpoch,
                   includeOptimizer: Bool) throws {
        try writeRunCheckpoint(to: url, module: model.checkpointModule, spec: spec, variant: variant, seed: seed,
                               epoch: epoch, adam: adam, plateau: plateau, best: best, includeOptimizer: includeOptimizer)
    }

    private func open(_ url: URL) throws -> SafeTensorsFile {
        do { return try SafeTensorsFile(contentsOf: url) } catch {
            throw RunnerError.checkpoint(path: url.path, reason: "\(error)")
        }
    }

    func loadState(from url: URL) throws {
        try loadStateDict(into: model.checkpointModule, stored: try open(url).tensors, source: url.lastPathComponent,
                          options: StateDictLoadOptions(ignoredPrefixes: ["optim."]))
    }

    /// Loads the resume point of `epoch` (the run's last checkpoint row) into the model, Adam and
    /// the schedule; returns the best epoch so far.
    func restore(epoch: Int, adam: Adam, plateau: ReduceLROnPlateau) throws -> BestEpoch {
        guard let row = try store.lastCheckpoint(runId: runId) else {
            throw RunnerError.checkpoint(path: "(none)", reason: "run \(runId) has \(epoch) committed epochs but no checkpoint row")
        }
        let url = URL(fileURLWithPath: row.path)
        let file = try open(url)
        guard file.metadata["epoch"] == "\(epoch)" else {
            throw RunnerError.checkpoint(path: url.path, reason: "holds epoch \(file.metadata["epoch"] ?? "?"), the database says \(epoch)")
        }
        let meta = try RunCheckpointMetadata(entries: file.metadata, file: url.path)
        try loadStateDict(into: model.checkpointModule, stored: file.tensors, source: url.lastPathComponent,
                          options: StateDictLoadOptions(ignoredPrefixes: ["optim."]))
        var optim: [String: Tensor] = [:]
        for (k, t) in file.tensors where k.hasPrefix("optim.") { optim[String(k.dropFirst(6))] = try t.tensor() }
        try adam.loadStateTensors(optim)
        if let j = meta.plateau {
            plateau.importState(try JSONDecoder().decode(PlateauState.self, from: Data(j.utf8)))
        }
        return BestEpoch(value: meta.bestValue ?? .infinity, epoch: meta.bestEpoch, path: meta.bestPath)
    }
}
