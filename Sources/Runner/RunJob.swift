import Foundation
import Specs
import Store

/// One (experiment, variant, seed): builds the model as its regime declares
/// (`RunJobBuild.swift`), trains it epoch by epoch with Adam and the plateau schedule (each
/// epoch: checkpoint file first, then one store transaction; `RunJobEpochs.swift`,
/// `RunState.swift`), keeps the epoch with the best monitored validation loss and
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
    var stats: RunnerStats

    var lastHeartbeat = Date()
    /// The network under the regime's declaration, set by `build()`.
    var model: RegimeNet!
    /// Adam, the schedule, the best epoch and the checkpoints (`RunState.swift`), set by `execute`.
    var state: RunState!
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
    }

    var runTag: String { state?.tag ?? "\(variant.rawValue)-seed\(seed)" }

    func execute() throws -> (RunSummary, [PredictionRow]) {
        try build()
        let state = RunState(spec: spec, variant: variant, seed: seed, runId: runId, model: model,
                             resultsDir: options.resultsDir)
        self.state = state
        if let done = resumeFrom, done >= 1 {
            try state.restore(epoch: done, store: store)
            options.progress.note("  resuming \(spec.name) \(runTag) after epoch \(done)")
        }
        while state.nextEpoch <= spec.training.epochs {
            try trainEpoch(state.nextEpoch)
        }
        // Model selection: the epoch with the best monitored validation loss.
        try state.loadBest()
        validationRows = try predictionRows(data.validation)
        return try evaluateTest()
    }

    func heartbeatIfDue() throws {
        if Date().timeIntervalSince(lastHeartbeat) > 60 {
            try store.heartbeat(runId: runId)
            lastHeartbeat = Date()
        }
    }
}
