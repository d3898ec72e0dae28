import Foundation
import Datasets
import Optim
import Store

/// The epoch loop: one pass of training steps over the shuffled training split, validation,
/// the plateau schedule, the best-epoch choice, checkpoints, then one store transaction.
extension RunJob {
    /// Summed losses of an epoch's training steps.
    struct TrainingSums {
        var main = 0.0, side = 0.0
        var seen = 0
    }

    func trainEpoch(_ epoch: Int, adam: Adam, plateau: ReduceLROnPlateau, best: inout BestEpoch) throws {
        let began = Date()
        let sums = try trainSteps(epoch, adam: adam)
        let v = try validate()
        let lrUsed = adam.lr
        let monitored = monitoredValue(v)
        let reduced = plateau.step(metric: monitored)
        try FileManager.default.createDirectory(at: checkpointDir, withIntermediateDirectories: true)
        var bestPath: String?
        let previousBest = best.path
        if monitored < best.value || best.epoch == nil {
            best.value = monitored.isFinite ? monitored : best.value
            best.epoch = epoch
            let url = checkpointDir.appendingPathComponent("\(runTag)-best-epoch\(epoch).safetensors")
            try saveState(to: url, epoch: epoch, adam: adam, plateau: plateau, best: best, includeOptimizer: false)
            best.path = url.path
            bestPath = url.path
        }
        let lastURL = checkpointDir.appendingPathComponent("\(runTag)-epoch\(epoch).safetensors")
        try saveState(to: lastURL, epoch: epoch, adam: adam, plateau: plateau, best: best, includeOptimizer: true)
        let n = Double(max(sums.seen, 1))
        let row = EpochRow(runId: runId, epoch: epoch, trainLossMain: sums.main / n,
                           trainLossSide: withSide ? sums.side / n : nil,
                           valLossMain: v.lossMain, valLossSide: v.lossSide, valAccMain: v.accMain,
                           valAccSide: v.accSide, lr: lrUsed, seconds: Date().timeIntervalSince(began))
        try store.commitEpoch(runId: runId, epoch: row, checkpointPath: lastURL.path, bestCheckpointPath: bestPath)
        // Older files are no longer referenced by the database.
        let old = checkpointDir.appendingPathComponent("\(runTag)-epoch\(epoch - 1).safetensors")
        try? FileManager.default.removeItem(at: old)
        if let prev = previousBest, bestPath != nil { try? FileManager.default.removeItem(atPath: prev) }
        var summary = String(format: "train loss %.4f, val loss %.4f, val acc %.2f%%", row.trainLossMain ?? .nan,
                             v.lossMain, 100 * v.accMain)
        if let s = v.accSide { summary += String(format: ", SideNet val acc %.2f%%", 100 * s) }
        if reduced { summary += String(format: ", lr -> %.3g", adam.lr) }
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

    /// The validation value the plateau schedule watches and the best epoch minimises.
    private func monitoredValue(_ v: Validation) -> Double {
        switch spec.training.plateau.monitor {
        case .valLoss: return v.lossMain + (withSide ? spec.training.alpha * (v.lossSide ?? 0) : 0)
        case .valLossMain: return v.lossMain
        case .valLossSide: return v.lossSide ?? v.lossMain
        }
    }
}
