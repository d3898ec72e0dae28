import Foundation
import Models
import Store
import Tensors

/// Validation and test of every run of a lockstep group over the cached features: chunks of
/// rows, every run's heads on each chunk (`FeatureHead`, reading the rows in place), handed
/// out in evaluation batches. Each row's logits depend on that row alone, so a run's logits
/// are bit for bit those it computes alone; the callers see the same evaluation batches as
/// `RunJob`, so losses and sums are unchanged.
enum LockstepEvaluation {
    /// Eval-mode logits of every run on `idxs`, handed to `body(run, start, batchIndices, main,
    /// side)` per evaluation batch of `batchSize` rows (`start` = position in `idxs`).
    static func forEachBatch(_ runs: [LockstepRun], features f: FeatureCache.Features, idxs: [Int], batchSize bs: Int,
                             heartbeat: () throws -> Void,
                             _ body: (Int, Int, [Int], Tensor, Tensor?) throws -> Void) throws {
        let rowBytes = 4 * (f.head.cols + f.attach.cols)
        let chunk = max(1, FeatureEvaluation.chunkBytes / max(1, rowBytes) / bs) * bs
        // a MainNet head holding the same bits as an earlier run's (`LockstepTwins`: the runs of one
        // seed sharing MainNet lanes) has the same logits: computed once
        let same = runs.indices.map { r in (0..<r).first { runs[r].mainHeadEquals(runs[$0]) } }
        for cStart in stride(from: 0, to: idxs.count, by: chunk) {
            let cIdx = Array(idxs[cStart..<min(idxs.count, cStart + chunk)])
            var mains = [Tensor?](repeating: nil, count: runs.count)
            for (r, run) in runs.enumerated() {
                let main = same[r].flatMap { mains[$0] } ?? run.headOnRows.forward(f.head, rows: cIdx, mode: .eval)
                mains[r] = main
                let side = run.withSide ? run.sideOnRows.forward(f.attach, rows: cIdx, mode: .eval) : nil
                for bStart in stride(from: 0, to: cIdx.count, by: bs) {
                    let range = bStart..<min(cIdx.count, bStart + bs)
                    let whole = range.count == cIdx.count
                    try body(r, cStart + bStart, Array(cIdx[range]), whole ? main : main.rows(range),
                             whole ? side : side?.rows(range))
                }
            }
            try heartbeat()
        }
    }

    /// Validation losses and accuracies of every run (per evaluation batch, as `RunJob.validate`).
    static func validate(_ runs: [LockstepRun], features f: FeatureCache.Features, data: PreparedData, batchSize: Int,
                         heartbeat: () throws -> Void) throws -> [HeadsValidation] {
        var sums = [ValidationSums](repeating: ValidationSums(), count: runs.count)
        try forEachBatch(runs, features: f, idxs: data.validation, batchSize: batchSize, heartbeat: heartbeat) { r, _, idx, main, side in
            sums[r].add(main: main, side: side, labels: idx.map { data.labels[$0] })
        }
        return runs.indices.map { sums[$0].result(count: data.validation.count, withSide: runs[$0].withSide) }
    }

    /// Per-example prediction rows of every run on `idxs` (row idx = position in `idxs`).
    static func predictionRows(_ runs: [LockstepRun], features f: FeatureCache.Features, idxs: [Int], data: PreparedData,
                               batchSize: Int, heartbeat: () throws -> Void) throws -> [[PredictionRow]] {
        var rows = [[PredictionRow]](repeating: [], count: runs.count)
        try forEachBatch(runs, features: f, idxs: idxs, batchSize: batchSize, heartbeat: heartbeat) { r, start, idx, main, side in
            rows[r] += evaluatedExamples(start: start, indices: idx, labels: data.labels, main: main, side: side)
                .map { PredictionRow(runId: runs[r].runId, $0) }
        }
        return rows
    }
}
