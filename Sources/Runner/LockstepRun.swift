import Foundation
import Datasets
import Layers
import Models
import Optim
import Specs
import Store
import Tensors
import WeightIO

/// One claimed (variant, seed) run of a lockstep group on cached features (regimes `heads` and
/// `sidenet`): its own heads, Adam, plateau schedule, data order and model selection. It does
/// what `RunJob` does on cached features, step for step and in the same operation order, and
/// writes checkpoints in the same files and format (a run started by either resumes in the other).
final class LockstepRun {
    let spec: ExperimentSpec
    let variant: Variant
    let seed: Int
    let runId: Int64
    let head: MLPHead
    let side: MLPHead
    /// The heads as they run on cached feature rows (as `RegimeNet` runs them for a single run).
    let headOnRows: FeatureHead, sideOnRows: FeatureHead
    let breakdown: ComputeBreakdown
    let adam: Adam
    let plateau: ReduceLROnPlateau
    let checkpointDir: URL
    var best = BestEpoch()
    /// The next epoch to train (1 + the last committed one).
    var nextEpoch = 1
    /// Training sums of the epoch in progress, and its training seconds.
    var sumMain = 0.0, sumSide = 0.0, seen = 0, trainSeconds = 0.0

    /// The epoch with the best monitored validation value so far, and its checkpoint.
    var withSide: Bool { variant == .sidenet }
    var tag: String { "\(variant.rawValue)-seed\(seed)" }
    var label: String { "\(spec.name) \(variant.rawValue) seed \(seed)" }

    /// The parts as the regime declares them (frozen flags, trainable parameters, checkpoint
    /// contents). `net` is not kept: the backbone goes with it (the features are cached), only
    /// the heads stay.
    init(spec: ExperimentSpec, variant: Variant, seed: Int, runId: Int64, net: Net, resultsDir: URL) {
        self.spec = spec
        self.variant = variant
        self.seed = seed
        self.runId = runId
        let model = RegimeNet(net, declaration: spec.training.regime.declaration, withSide: variant == .sidenet)
        head = net.head
        side = net.side
        headOnRows = FeatureHead(net.head)
        sideOnRows = FeatureHead(net.side)
        breakdown = net.breakdown
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

    /// What the checkpoint holds (the declaration's contents: the heads; the backbone is the
    /// spec's weight file).
    let checkpointModule: Module
    var declaration: RegimeDeclaration { spec.training.regime.declaration }

    // MARK: training

    /// Trains one epoch on `features` (call from one thread per run; every kernel inside runs on
    /// the calling thread). Sums land in `sumMain`/`sumSide`/`seen`.
    func trainEpoch(_ epoch: Int, features f: FeatureCache.Features, data: PreparedData, stop: StopSignal,
                    advance: (Int) -> Void) throws {
        let began = Date()
        var batches = Batching.batches(indices: data.train, batchSize: spec.training.batchSize,
                                       shuffleSeed: UInt64(seed), epoch: epoch)
        if let last = batches.last, last.count < 2, batches.count > 1 { batches.removeLast() }  // BatchNorm needs 2
        sumMain = 0; sumSide = 0; seen = 0
        let alpha = spec.training.alpha
        for (b, idx) in batches.enumerated() {
            if stop.isRequested { throw RunnerError.interrupted }
            adam.zeroGrad()
            // each part in its declared mode (a frozen head in eval mode stays as loaded)
            let main = headOnRows.forward(f.head, rows: idx, mode: declaration.mainHead.trainingMode == .eval ? .eval : .train)
            let sideLogits = withSide
                ? sideOnRows.forward(f.attach, rows: idx, mode: declaration.sideNet.trainingMode == .eval ? .eval : .train) : nil
            let labels = idx.map { data.labels[$0] }
            let lm = headLoss(main, labels: labels)
            guard lm.loss.isFinite else { throw RunnerError.nonFiniteLoss(epoch: epoch, batch: b + 1, head: "MainNet") }
            if let s = sideLogits {
                let ls = headLoss(s, labels: labels)
                guard ls.loss.isFinite else { throw RunnerError.nonFiniteLoss(epoch: epoch, batch: b + 1, head: "SideNet") }
                sumSide += ls.loss * Double(idx.count)
                if declaration.sideNet.isTrained { sideOnRows.backwardParameters(scaled(ls.dLogits, by: alpha)) }
            }
            sumMain += lm.loss * Double(idx.count)
            // cached features are inputs: no gradient flows into them
            if declaration.mainHead.isTrained { headOnRows.backwardParameters(lm.dLogits) }
            adam.step()
            seen += idx.count
            advance(idx.count)
        }
        trainSeconds = Date().timeIntervalSince(began)
    }

    /// The monitored validation value (plateau and model selection), as `RunJob` computes it.
    func monitored(_ v: HeadsValidation) -> Double {
        switch spec.training.plateau.monitor {
        case .valLoss: return v.lossMain + (withSide ? spec.training.alpha * (v.lossSide ?? 0) : 0)
        case .valLossMain: return v.lossMain
        case .valLossSide: return v.lossSide ?? v.lossMain
        }
    }

    /// After validation: plateau step, checkpoints (best, last), then one store transaction; old
    /// checkpoint files go. Returns the epoch row and whether the lr was reduced.
    func commitEpoch(_ epoch: Int, validation v: HeadsValidation, extraSeconds: Double,
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
            try saveState(to: url, epoch: epoch, includeOptimizer: false)
            best.path = url.path
            bestPath = url.path
        }
        let lastURL = checkpointDir.appendingPathComponent("\(tag)-epoch\(epoch).safetensors")
        try saveState(to: lastURL, epoch: epoch, includeOptimizer: true)
        let n = Double(max(seen, 1))
        let row = EpochRow(runId: runId, epoch: epoch, trainLossMain: sumMain / n, trainLossSide: withSide ? sumSide / n : nil,
                           valLossMain: v.lossMain, valLossSide: v.lossSide, valAccMain: v.accMain,
                           valAccSide: v.accSide, lr: lrUsed, seconds: trainSeconds + extraSeconds)
        try store.commitEpoch(runId: runId, epoch: row, checkpointPath: lastURL.path, bestCheckpointPath: bestPath)
        try? FileManager.default.removeItem(at: checkpointDir.appendingPathComponent("\(tag)-epoch\(epoch - 1).safetensors"))
        if let prev = previousBest, bestPath != nil { try? FileManager.default.removeItem(atPath: prev) }
        nextEpoch = epoch + 1
        return (row, reduced)
    }

    // MARK: checkpoints (the format of `RunJob`)

    private func saveState(to url: URL, epoch: Int, includeOptimizer: Bool) throws {
        try writeRunCheckpoint(to: url, module: checkpointModule, spec: spec, variant: variant, seed: seed, epoch: epoch,
                               adam: adam, plateau: plateau, best: best, includeOptimizer: includeOptimizer)
    }

    /// Loads the heads of the selected epoch (model selection), if any epoch was selected.
    func loadBest() throws {
        guard let path = best.path else { return }
        let url = URL(fileURLWithPath: path)
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch {
            throw RunnerError.checkpoint(path: url.path, reason: "\(error)")
        }
        try loadStateDict(into: checkpointModule, stored: file.tensors, source: url.lastPathComponent,
                          options: StateDictLoadOptions(ignoredPrefixes: ["optim."]))
    }

    /// Restores heads, Adam, plateau and the best-epoch record after `epoch` committed epochs.
    func restore(epoch: Int, store: ResultStore) throws {
        guard let row = try store.lastCheckpoint(runId: runId) else {
            throw RunnerError.checkpoint(path: "(none)", reason: "run \(runId) has \(epoch) committed epochs but no checkpoint row")
        }
        let url = URL(fileURLWithPath: row.path)
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(contentsOf: url) } catch {
            throw RunnerError.checkpoint(path: url.path, reason: "\(error)")
        }
        guard file.metadata["epoch"] == "\(epoch)" else {
            throw RunnerError.checkpoint(path: url.path, reason: "holds epoch \(file.metadata["epoch"] ?? "?"), the database says \(epoch)")
        }
        let meta = try RunCheckpointMetadata(entries: file.metadata, file: url.path)
        try loadStateDict(into: checkpointModule, stored: file.tensors, source: url.lastPathComponent,
                          options: StateDictLoadOptions(ignoredPrefixes: ["optim."]))
        var optim: [String: Tensor] = [:]
        for (k, t) in file.tensors where k.hasPrefix("optim.") { optim[String(k.dropFirst(6))] = try t.tensor() }
        try adam.loadStateTensors(optim)
        if let j = meta.plateau {
            plateau.importState(try JSONDecoder().decode(PlateauState.self, from: Data(j.utf8)))
        }
        best = BestEpoch(value: meta.bestValue ?? .infinity, epoch: meta.bestEpoch, path: meta.bestPath)
        nextEpoch = epoch + 1
    }

    /// The run's summary row (after the test split).
    func summary(data: PreparedData, accMain: Double, accSide: Double?) -> RunSummary {
        let b = breakdown
        return RunSummary(numClasses: data.numClasses, paramsPrefix: b.prefix.parameters,
                          paramsSidenet: b.sideNet.parameters, paramsMainnet: b.mainNet.parameters,
                          flopsPrefix: b.prefix.flops, flopsSidenet: b.sideNet.flops, flopsMainnet: b.mainNet.flops,
                          bestEpoch: best.epoch, testAccMain: accMain, testAccSide: accSide,
                          dataSplit: data.splitDescription)
    }
}
