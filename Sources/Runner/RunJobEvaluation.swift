import Foundation
import Layers
import Store
import Tensors

/// Evaluation inside a run: the validation losses of each epoch, and the selected epoch's
/// per-example rows on the validation and test splits (eval mode throughout).
extension RunJob {
    func validate() throws -> HeadsValidation {
        var sums = ValidationSums()
        try forEachEvalBatch(data.validation) { _, idx, main, side in
            sums.add(main: main, side: side, labels: idx.map { data.labels[$0] })
        }
        return sums.result(count: data.validation.count, withSide: withSide)
    }

    /// Eval-mode logits of `idxs` handed to `body` batch by batch (`evaluation.batch_size`
    /// examples; `start` = position of the batch in `idxs`). On cached features the heads run
    /// over chunks of many batches at once (large GEMMs); each row's logits do not depend on the
    /// rows beside it, and `body` still sees the same batches, so losses and sums are unchanged.
    func forEachEvalBatch(_ idxs: [Int], _ body: (Int, [Int], Tensor, Tensor?) throws -> Void) throws {
        let bs = spec.evaluation.batchSize
        var chunk = bs
        if let f = model.features {
            // ~128 MB of gathered Float32 rows per chunk, a whole number of batches
            let rowBytes = 4 * (f.head.cols + (withSide ? f.attach.cols : 0))
            chunk = max(1, FeatureEvaluation.chunkBytes / max(1, rowBytes) / bs) * bs
        }
        for cStart in stride(from: 0, to: idxs.count, by: chunk) {
            let cIdx = Array(idxs[cStart..<min(idxs.count, cStart + chunk)])
            let (main, side) = try model.logits(cIdx, data: data, mode: .eval)
            for bStart in stride(from: 0, to: cIdx.count, by: bs) {
                let r = bStart..<min(cIdx.count, bStart + bs)
                let whole = r.count == cIdx.count
                try body(cStart + bStart, Array(cIdx[r]), whole ? main : main.rows(r), whole ? side : side?.rows(r))
            }
            try heartbeatIfDue()
        }
    }

    /// The selected epoch on the test split: the rows the store keeps and the run's summary.
    func evaluateTest() throws -> (RunSummary, [PredictionRow]) {
        let idxs = data.test
        options.progress.begin("\(spec.name) \(runTag) test", total: idxs.count, unit: "ex")
        let rows = try predictionRows(idxs) { options.progress.advance(to: $0) }
        let (accMain, accSide) = headAccuracies(rows, withSide: withSide)
        options.progress.end(String(format: "test acc MainNet %.2f%%", 100 * accMain)
                             + (accSide.map { String(format: ", SideNet %.2f%%", 100 * $0) } ?? ""))
        let summary = state.summary(model.net.breakdown, data: data, accMain: accMain, accSide: accSide)
        return (summary, rows)
    }

    /// Per-example rows of both heads on `idxs` (row idx = position in `idxs`), eval mode;
    /// `advanced` hears how many rows are done after each batch.
    func predictionRows(_ idxs: [Int], advanced: (Int) -> Void = { _ in }) throws -> [PredictionRow] {
        var rows: [PredictionRow] = []
        try forEachEvalBatch(idxs) { start, idx, main, side in
            rows += evaluatedExamples(start: start, indices: idx, labels: data.labels, main: main, side: side)
                .map { PredictionRow(runId: runId, $0) }
            advanced(start + idx.count)
        }
        return rows
    }
}
