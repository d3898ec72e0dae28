import Foundation
import Models
import Optim
import Specs
import Store
import Tensors
import WeightIO

/// The selected epoch so far (model selection): its validation value and checkpoint.
struct BestEpoch {
    var value = Double.infinity
    var epoch: Int?
    var path: String?
}

/// Validation losses and accuracies of one run (eval mode, per evaluation batch).
struct HeadsValidation {
    var lossMain: Double, lossSide: Double?, accMain: Double, accSide: Double?
}

/// A run's validation sums over evaluation batches, in batch order: losses weighted by the
/// batch size and correct predictions of both heads.
struct ValidationSums {
    var lossMain = 0.0, lossSide = 0.0, correctMain = 0, correctSide = 0

    mutating func add(main: Tensor, side: Tensor?, labels: [Int]) {
        lossMain += headLossValue(main, labels: labels) * Double(labels.count)
        correctMain += correctCount(main, labels: labels)
        if let side {
            lossSide += headLossValue(side, labels: labels) * Double(labels.count)
            correctSide += correctCount(side, labels: labels)
        }
    }

    /// Means over `count` examples (SideNet nil without one).
    func result(count: Int, withSide: Bool) -> HeadsValidation {
        let n = Double(max(count, 1))
        return HeadsValidation(lossMain: lossMain / n, lossSide: withSide ? lossSide / n : nil,
                               accMain: Double(correctMain) / n, accSide: withSide ? Double(correctSide) / n : nil)
    }
}

/// Summed losses of an epoch's training steps.
struct TrainingSums {
    var main = 0.0, side = 0.0
    var seen = 0
}

/// What one (experiment, variant, seed) run carries from epoch to epoch, the same for a single
/// run (`RunJob`) and a run of a lockstep group (`LockstepRun`): Adam over the regime's
/// trainable parameters, the plateau schedule, the best epoch, and the checkpoints that save and
/// restore them. A checkpoint holds what the regime declares, plus (resume point) the Adam state
/// under `optim.*`, with `RunCheckpointMetadata` saying which run, regime and epoch it is and the
/// schedule and best-epoch state a resume continues from; a run started by either kind resumes in
/// the other.
final class RunState {
    let spec: ExperimentSpec
    let variant: Variant
    let seed: Int
    let runId: Int64
    /// What a checkpoint holds (the declaration's contents) under the harness's names.
    let checkpointModule: Module
    let adam: Adam
    let plateau: ReduceLROnPlateau
    let checkpointDir: URL
    var best = BestEpoch()
    /// The next epoch to train (1 + the last committed one).
    private(set) var nextEpoch = 1

    var withSide: Bool { variant == .sidenet }
    var tag: String { "\(variant.rawValue)-seed\(seed)" }

    init(spec: ExperimentSpec, variant: Variant, seed: Int, runId: Int64, model: RegimeNet, resultsDir: URL) {
        self.spec = spec
        self.variant = variant
        self.seed = seed
        self.runId = runId
        checkpointModule = model.checkpointModule
        let o = spec.training.optimizer
        adam = Adam(parameters: model.trainableParameters, lr: o.lr, betas: (o.betas[0], o.betas[1]), eps: o.eps,
                    weightDecay: o.weightDecay)
        let p = spec.training.plateau
        plateau = ReduceLROnPlateau(optimizer: adam, mode: .min, factor: p.factor, patience: p.patience,
                                    threshold: p.threshold, thresholdMode: p.thresholdMode == .rel ? .rel : .abs,
                                    cooldown: p.cooldown, minLR: p.minLR)
        checkpointDir = resultsDir.appendingPathComponent("checkpoints")
            .appendingPathComponent("\(spec.name)-\(spec.specHash.prefix(12))")
    }

    /// The validation value the plateau schedule watches and the best epoch minimises.
    func monitored(_ v: HeadsValidation) -> Double {
        switch spec.training.plateau.monitor {
        case .valLoss: return v.lossMain + (withSide ? spec.training.alpha * (v.lossSide ?? 0) : 0)
        case .valLossMain: return v.lossMain
        case .valLossSide: return v.lossSide ?? v.lossMain
        }
    }

    /// After validation: plateau step, checkpoints (best, last), then one store transaction
    /// (the row's seconds are `seconds()` at that point); older checkpoint files go. Returns the
    /// epoch row and whether the lr was reduced.
    func commitEpoch(_ epoch: Int, sums: TrainingSums, validation v: HeadsValidation, seconds: () -> Double,
                     store: ResultStore) throws -> (EpochRow, reduced: Bool) {
        let lrUsed = adam.lr
        let value = monitored(v)
        let reduced = plateau.step(metric: value)
        try FileManager.default.createDirectory(at: checkpointDir, withIntermediateDirectories: true)
        var bestPath: String?
        let previousBest = best.path
        if value < best.value || best.epoch == nil {
            best.value = value.isFinite ? value : best.value
            best.epoch = epoch
            let url = checkpointDir.appendingPathComponent("\(tag)-best-epoch\(epoch).safetensors")
            try save(to: url, epoch: epoch, includeOptimizer: false)
            best.path = url.path
            bestPath = url.path
        }
        let lastURL = checkpointDir.appendingPathComponent("\(tag)-epoch\(epoch).safetensors")
        try save(to: lastURL, epoch: epoch, includeOptimizer: true)
        let n = Double(max(sums.seen, 1))
        let row = EpochRow(runId: runId, epoch: epoch, trainLossMain: sums.main / n,
                           trainLossSide: withSide ? sums.side / n : nil,
                           valLossMain: v.lossMain, valLossSide: v.lossSide, valAccMain: v.accMain,
                           valAccSide: v.accSide, lr: lrUsed, seconds: seconds())
        try store.commitEpoch(runId: runId, epoch: row, checkpointPath: lastURL.path, bestCheckpointPath: bestPath)
        // Older files are no longer referenced by the database.
        try? FileManager.default.removeItem(at: checkpointDir.appendingPathComponent("\(tag)-epoch\(epoch - 1).safetensors"))
        if let prev = previousBest, bestPath != nil { try? FileManager.default.removeItem(atPath: prev) }
        nextEpoch = epoch + 1
        return (row, reduced)
    }

    // MARK: checkpoints

    private func save(to url: URL, epoch: Int, includeOptimizer: Bool) throws {
        var tensors = storedStateDict(checkpointModule)
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

    private func open(_ url: URL) throws -> SafeTensorsFile {
        do { return try SafeTensorsFile(contentsOf: url) } catch {
            throw RunnerError.checkpoint(path: url.path, reason: "\(error)")
        }
    }

    private func loadModule(from file: SafeTensorsFile, _ url: URL) throws {
        try loadStateDict(into: checkpointModule, stored: file.tensors, source: url.lastPathComponent,
                          options: StateDictLoadOptions(ignoredPrefixes: ["optim."]))
    }

    /// Loads the selected epoch's checkpoint (model selection), if any epoch was selected.
    func loadBest() throws {
        guard let path = best.path else { return }
        let url = URL(fileURLWithPath: path)
        try loadModule(from: try open(url), url)
    }

    /// Restores the checkpointed parts, Adam, the schedule and the best-epoch record from the
    /// resume point of `epoch` committed epochs (the run's last checkpoint row).
    func restore(epoch: Int, store: ResultStore) throws {
        guard let row = try store.lastCheckpoint(runId: runId) else {
            throw RunnerError.checkpoint(path: "(none)", reason: "run \(runId) has \(epoch) committed epochs but no checkpoint row")
        }
        let url = URL(fileURLWithPath: row.path)
        let file = try open(url)
        guard file.metadata["epoch"] == "\(epoch)" else {
            throw RunnerError.checkpoint(path: url.path, reason: "holds epoch \(file.metadata["epoch"] ?? "?"), the database says \(epoch)")
        }
        let meta = try RunCheckpointMetadata(entries: file.metadata, file: url.path)
        try loadModule(from: file, url)
        var optim: [String: Tensor] = [:]
        for (k, t) in file.tensors where k.hasPrefix("optim.") { optim[String(k.dropFirst(6))] = try t.tensor() }
        try adam.loadStateTensors(optim)
        if let j = meta.plateau {
            plateau.importState(try JSONDecoder().decode(PlateauState.self, from: Data(j.utf8)))
        }
        best = BestEpoch(value: meta.bestValue ?? .infinity, epoch: meta.bestEpoch, path: meta.bestPath)
        nextEpoch = epoch + 1
    }
}

extension RunState {
    /// The run's summary row after the test split (`breakdown`: the network's compute accounting).
    func summary(_ b: ComputeBreakdown, data: PreparedData, accMain: Double, accSide: Double?) -> RunSummary {
        RunSummary(numClasses: data.numClasses, paramsPrefix: b.prefix.parameters,
                   paramsSidenet: b.sideNet.parameters, paramsMainnet: b.mainNet.parameters,
                   flopsPrefix: b.prefix.flops, flopsSidenet: b.sideNet.flops, flopsMainnet: b.mainNet.flops,
                   bestEpoch: best.epoch, testAccMain: accMain, testAccSide: accSide, dataSplit: data.splitDescription)
    }
}

/// Test accuracies of both heads over a run's prediction rows (SideNet nil without one).
func headAccuracies(_ rows: [PredictionRow], withSide: Bool) -> (main: Double, side: Double?) {
    let n = Double(max(rows.count, 1))
    let main = Double(rows.filter { $0.mainPred == $0.label }.count) / n
    return (main, withSide ? Double(rows.filter { $0.sidePred == $0.label }.count) / n : nil)
}
