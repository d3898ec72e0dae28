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
/// keeps its epoch-to-epoch state in the same `RunState` (a run started by either resumes in the other).
final class LockstepRun {
    let head: MLPHead
    let side: MLPHead
    let breakdown: ComputeBreakdown
    /// Adam, the schedule, the best epoch and the checkpoints, as a single run keeps them.
    let state: RunState
    /// Training sums of the epoch in progress, and its training seconds.
    var sumMain = 0.0, sumSide = 0.0, seen = 0, trainSeconds = 0.0

    var spec: ExperimentSpec { state.spec }
    var variant: Variant { state.variant }
    var seed: Int { state.seed }
    var runId: Int64 { state.runId }
    var adam: Adam { state.adam }
    /// The next epoch to train (1 + the last committed one).
    var nextEpoch: Int { state.nextEpoch }
    var withSide: Bool { state.withSide }
    var tag: String { state.tag }
    var label: String { "\(spec.name) \(variant.rawValue) seed \(seed)" }
    var declaration: RegimeDeclaration { spec.training.regime.declaration }

    /// The parts as the regime declares them (frozen flags, trainable parameters, checkpoint
    /// contents). `net` is not kept: the backbone goes with it (the features are cached), only
    /// the heads stay.
    init(spec: ExperimentSpec, variant: Variant, seed: Int, runId: Int64, net: Net, resultsDir: URL) {
        let model = RegimeNet(net, declaration: spec.training.regime.declaration, withSide: variant == .sidenet)
        head = net.head
        side = net.side
        breakdown = net.breakdown
        state = RunState(spec: spec, variant: variant, seed: seed, runId: runId, model: model, resultsDir: resultsDir)
    }

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
            let main = head.forward(f.head.gather(idx), mode: declaration.mainHead.trainingMode == .eval ? .eval : .train)
            let sideLogits = withSide
                ? side.forward(f.attach.gather(idx), mode: declaration.sideNet.trainingMode == .eval ? .eval : .train) : nil
            let labels = idx.map { data.labels[$0] }
            let lm = headLoss(main, labels: labels)
            guard lm.loss.isFinite else { throw RunnerError.nonFiniteLoss(epoch: epoch, batch: b + 1, head: "MainNet") }
            if let s = sideLogits {
                let ls = headLoss(s, labels: labels)
                guard ls.loss.isFinite else { throw RunnerError.nonFiniteLoss(epoch: epoch, batch: b + 1, head: "SideNet") }
                sumSide += ls.loss * Double(idx.count)
                if declaration.sideNet.isTrained { side.backwardParameters(scaled(ls.dLogits, by: alpha)) }
            }
            sumMain += lm.loss * Double(idx.count)
            // cached features are inputs: no gradient flows into them
            if declaration.mainHead.isTrained { head.backwardParameters(lm.dLogits) }
            adam.step()
            seen += idx.count
            advance(idx.count)
        }
        trainSeconds = Date().timeIntervalSince(began)
    }

    /// After validation: plateau step, checkpoints, then one store transaction (`RunState`).
    /// Returns the epoch row and whether the lr was reduced.
    func commitEpoch(_ epoch: Int, validation v: HeadsValidation, extraSeconds: Double,
                     store: ResultStore) throws -> (EpochRow, reduced: Bool) {
        try state.commitEpoch(epoch, sums: TrainingSums(main: sumMain, side: sumSide, seen: seen), validation: v,
                              seconds: { trainSeconds + extraSeconds }, store: store)
    }

    /// Loads the heads of the selected epoch (model selection), if any epoch was selected.
    func loadBest() throws { try state.loadBest() }

    /// Restores heads, Adam, plateau and the best-epoch record after `epoch` committed epochs.
    func restore(epoch: Int, store: ResultStore) throws { try state.restore(epoch: epoch, store: store) }

    /// The run's summary row (after the test split).
    func summary(data: PreparedData, accMain: Double, accSide: Double?) -> RunSummary {
        state.summary(breakdown, data: data, accMain: accMain, accSide: accSide)
    }
}
