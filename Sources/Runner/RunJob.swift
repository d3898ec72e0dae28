import Foundation
import Optim
import Specs
import Store

/// One (experiment, variant, seed): builds the model as its regime declares
/// (`RunJobBuild.swift`), trains it epoch by epoch with Adam and the plateau schedule (each
/// epoch: checkpoint file first, then one store transaction; `RunJobEpochs.swift`,
/// `RunJobCheckpoints.swift`), keeps the epoch with the best monitored validation loss and
/// evaluates it on the validation and test splits (`RunJobEvaluation.swift`).
final class RunJob {
    let spec: ExperimentSpec
    let variant: Variant
    let seed: Int
    let data: PreparedData
    let store: ResultStore
    let runId: Int64
    let resumeFrom: Int?
    let options: RunOptions
    let cache: FeatureCache
    let checkpointDir: URL
    var stats: RunnerStats

    var lastHeartbeat = Date()
    /// The network under the regime's declaration, set by `build()`.
    var model: RegimeNet!
    var withSide: Bool { variant == .sidenet }
    var declaration: RegimeDeclaration { spec.training.regime.declaration }
    /// The validation split's rows of the selected epoch, set by `execute` (written with the test rows).
    private(set) var validationRows: [PredictionRow] = []

    init(spec: ExperimentSpec, variant: Variant, seed: Int, data: PreparedData, store: ResultStore, runId: Int64,
         resumeFrom: Int?, options: RunOptions, cache: FeatureCache, stats: RunnerStats) {
        self.spec = spec
        self.variant = variant
        self.seed = seed
        self.data = data
        self.store = store
        self.runId = runId
        self.resumeFrom = resumeFrom
        self.options = options
        self.cache = cache
        self.stats = stats
        checkpointDir = options.resultsDir.appendingPathComponent("checkpoints")
            .appendingPathComponent("\(spec.name)-\(spec.specHash.prefix(12))")
    }

    var runTag: String { "\(variant.rawValue)-seed\(seed)" }

    func execute() throws -> (RunSummary, [PredictionRow]) {
        try build()
        let o = spec.training.optimizer
        let adam = Adam(parameters: model.trainableParameters, lr: o.lr, betas: (o.betas[0], o.betas[1]), eps: o.eps,
                        weightDecay: o.weightDecay)
        let p = spec.training.plateau
        let plateau = ReduceLROnPlateau(optimizer: adam, mode: .min, factor: p.factor, patience: p.patience,
                                        threshold: p.threshold, thresholdMode: p.thresholdMode == .rel ? .rel : .abs,
                                        cooldown: p.cooldown, minLR: p.minLR)
        var best = BestEpoch()
        var start = 1
        if let done = resumeFrom, done >= 1 {
            best = try restore(epoch: done, adam: adam, plateau: plateau)
            start = done + 1
            options.progress.note("  resuming \(spec.name) \(runTag) after epoch \(done)")
        }
        if start <= spec.training.epochs {
            for epoch in start...spec.training.epochs {
                try trainEpoch(epoch, adam: adam, plateau: plateau, best: &best)
            }
        }
        // Model selection: the epoch with the best monitored validation loss.
        if let path = best.path {
            try loadState(from: URL(fileURLWithPath: path))
        }
        validationRows = try predictionRows(data.validation)
        return try evaluateTest(bestEpoch: best.epoch)
    }

    func heartbeatIfDue() throws {
        if Date().timeIntervalSince(lastHeartbeat) > 60 {
            try store.heartbeat(runId: runId)
            lastHeartbeat = Date()
        }
    }
}
