import Foundation
import Datasets
import Optim
import Store

/// The epoch loop: one pass of training steps over the shuffled training split, validation,
/// then (`RunState.commitEpoch`) the plateau schedule, the best-epoch choice, checkpoints and
/// one store transaction.
extension RunJob {
    func trainEpoch(_ epoch: Int) throws {
        let began = Date()
        let sums = try trainSteps(epoch, adam: state.adam)
        let v = try validate()
        let (row, reduced) = try state.commitEpoch(epoch, sums: sums, validation: v,
                                                   seconds: { Date().timeIntervalSince(began) }, store: store)
        var summary = String(format: "train loss %.4f, val loss %.4f, val acc %.2f%%", row.trainLossMain ?? .nan,
                             v.lossMain, 100 * v.accMain)
        if let s = v.accSide { summary += String(format: ", SideNet val acc %.2f%%", 100 * s) }
        if reduced { summary += String(format: ", lr -> %.3g", state.adam.lr) }
        options.progress.end(summary)
        try options.afterEpoch?(spec.name, variant, seed, epoch)
    }

    /// One optimizer step per shuffled training batch (`trainingStep`, the step the tests use).
    private func trainSteps(_ epoch: Int, adam: Adam) throws -> TrainingSums {
        let bs = spec.training.batchSize
        model.net.beginEpoch(epoch, seed: seed)  // dropout masks depend on (seed, epoch) only: resumes replay them
        var batches = Batching.batches(indices: data.train, batchSize: bs, shuffleSeed: UInt64(seed), epoch: epoch)
        if let last = batches.last, last.count < 2, batches.count > 1 { batches.removeLast() }  // BatchNorm needs 2
        options.progress.begin("\(spec.name) \(runTag) epoch \(epoch)/\(spec.training.epochs)",
                               total: batches.reduce(0) { $0 + $1.count }, unit: "ex")
        var sums = TrainingSums()
        for (b, idx) in batches.enumerated() {
            if options.stop.isRequested { throw RunnerError.interrupted }
            adam.zeroGrad()
            let loss: JointLoss
            do {
                loss = try trainingStep(model, indices: idx, data: data, alpha: spec.training.alpha)
            } catch let e as NonFiniteLoss {
                throw RunnerError.nonFiniteLoss(epoch: epoch, batch: b + 1, head: e.head)
            }
            if let side = loss.side { sums.side += side * Double(idx.count) }
            sums.main += loss.main * Double(idx.count)
            adam.step()
            sums.seen += idx.count
            options.progress.advance(to: sums.seen)
            try heartbeatIfDue()
        }
        return sums
    }
}
