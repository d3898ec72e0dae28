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
    /// The heads as they run on cached feature rows (as `RegimeNet` runs them for a single run).
    let headOnRows: FeatureHead, sideOnRows: FeatureHead
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
        headOnRows = FeatureHead(net.head)
        sideOnRows = FeatureHead(net.side)
        breakdown = net.breakdown
        state = RunState(spec: spec, variant: variant, seed: seed, runId: runId, model: model, resultsDir: resultsDir)
    }

    // MARK: training

    /// The two independent halves of a step on cached features: each head's forward, loss,
    /// parameter gradients and Adam update read and write only that head's parameters and
    /// state (the features are inputs, and Adam updates each parameter on its own), so an epoch
    /// of a run is its lanes' epochs, which may run on different threads.
    enum Lane: Int, CaseIterable { case main, side }

    /// The lanes of this run's epoch (the baseline never runs its SideNet).
    var lanes: [Lane] { withSide ? [.main, .side] : [.main] }

    /// A lane's work per example: the feature columns its first layer reads (for scheduling).
    func cost(of lane: Lane, features f: FeatureCache.Features) -> Int { lane == .main ? f.head.cols : f.attach.cols }

    /// The epoch's batches (shuffled by seed and epoch), set by `beginEpoch`.
    private(set) var batches: [[Int]] = []
    /// Each lane's seconds (separate properties: the lanes may run on two threads at once).
    var mainSeconds = 0.0, sideSeconds = 0.0

    /// Before the lanes of `epoch` run: the batches, cleared sums, and Adam's state prepared
    /// so that the lanes may step their parameters concurrently.
    func beginEpoch(_ epoch: Int, data: PreparedData) {
        batches = Batching.batches(indices: data.train, batchSize: spec.training.batchSize, shuffleSeed: UInt64(seed), epoch: epoch)
        if let last = batches.last, last.count < 2, batches.count > 1 { batches.removeLast() }  // BatchNorm needs 2
        sumMain = 0; sumSide = 0; seen = 0
        mainSeconds = 0; sideSeconds = 0
        adam.prepareState()
    }

    /// One lane of the epoch begun by `beginEpoch` (call from one thread; every kernel inside
    /// runs on the calling thread). Per batch, what `RunJob` does for this head, in its order:
    /// zero its gradients, forward in its declared mode, loss (non-finite: the error), its
    /// parameter gradients, its Adam update. Sums land in `sumMain` / `sumSide` / `seen`.
    func trainLane(_ lane: Lane, epoch: Int, features f: FeatureCache.Features, data: PreparedData, stop: StopSignal,
                   advance: (Int) -> Void) throws {
        let began = Date()
        let main = lane == .main
        defer { if main { mainSeconds = Date().timeIntervalSince(began) } else { sideSeconds = Date().timeIntervalSince(began) } }
        let onRows = main ? headOnRows : sideOnRows, module: MLPHead = main ? head : side
        let training = main ? declaration.mainHead : declaration.sideNet
        let parameters = module.namedParameters().map(\.1), params = Set(parameters.map(ObjectIdentifier.init))
        let scale = main ? 1 : spec.training.alpha
        var sum = 0.0
        defer { if main { sumMain = sum } else { sumSide = sum } }
        for (b, idx) in batches.enumerated() {
            if stop.isRequested { throw RunnerError.interrupted }
            for p in parameters { p.zeroGrad() }
            let logits = onRows.forward(main ? f.head : f.attach, rows: idx, mode: training.trainingMode == .eval ? .eval : .train)
            let l = headLoss(logits, labels: idx.map { data.labels[$0] })
            guard l.loss.isFinite else { throw RunnerError.nonFiniteLoss(epoch: epoch, batch: b + 1, head: main ? "MainNet" : "SideNet") }
            sum += l.loss * Double(idx.count)
            // cached features are inputs: no gradient flows into them
            if training.isTrained { onRows.backwardParameters(main ? l.dLogits : scaled(l.dLogits, by: scale)) }
            adam.step { params.contains(ObjectIdentifier($0)) }
            if main {
                seen += idx.count
                advance(idx.count)
            }
        }
    }

    /// After every lane of the epoch ran: the run's error from its lanes' errors (`errors[lane]`),
    /// the one training the two heads in one loop would have raised: interrupted if any lane
    /// was, else the earliest non-finite loss (at one batch the MainNet's first), else the
    /// first other error. Nil: the epoch trained; its seconds are the lanes' sum.
    func endEpoch(errors: [Error?]) -> Error? {
        trainSeconds = mainSeconds + sideSeconds
        let present = errors.compactMap { $0 }
        if present.isEmpty { return nil }
        if present.contains(where: { if case RunnerError.interrupted = $0 { return true } else { return false } }) {
            return RunnerError.interrupted
        }
        func batch(_ e: Error) -> Int? { if case RunnerError.nonFiniteLoss(_, let b, _) = e { return b } else { return nil } }
        let nonFinite = present.filter { batch($0) != nil }
        return nonFinite.min { batch($0)! < batch($1)! } ?? present[0]  // min keeps the first (MainNet) of equals
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
