import Foundation
import Layers
import Models
import Store
import Tensors

/// Validation losses and accuracies of one run (what `RunJob.validate` computes).
struct HeadsValidation {
    var lossMain: Double, lossSide: Double?, accMain: Double, accSide: Double?
}

/// Validation and test of every run of a lockstep group in one pass over the cached features:
/// each chunk of rows is gathered once, and the first layers of all MainNet heads (and of all
/// SideNets) run as ONE GEMM over it, their weights stacked: [n, F] x [F, 32·R]. A column of a
/// GEMM does not depend on the columns beside it, nor a row on the rows beside it (OpenBLAS
/// splits M and N, never the sum over K), so every run gets the logits it gets alone; the
/// callers then see the same evaluation batches as `RunJob`, so losses and sums are unchanged.
enum LockstepEvaluation {
    /// Eval-mode logits of every run on `idxs`, handed to `body(run, start, batchIndices, main,
    /// side)` per evaluation batch of `batchSize` rows (`start` = position in `idxs`).
    static func forEachBatch(_ runs: [LockstepRun], features f: FeatureCache.Features, idxs: [Int], batchSize bs: Int,
                             heartbeat: () throws -> Void,
                             _ body: (Int, Int, [Int], Tensor, Tensor?) throws -> Void) throws {
        let sided = runs.indices.filter { runs[$0].withSide }
        let rowBytes = 4 * (f.head.cols + (sided.isEmpty ? 0 : f.attach.cols))
        let chunk = max(1, FeatureEvaluation.chunkBytes / max(1, rowBytes) / bs) * bs
        for cStart in stride(from: 0, to: idxs.count, by: chunk) {
            let cIdx = Array(idxs[cStart..<min(idxs.count, cStart + chunk)])
            let mains = logits(f.head.gather(cIdx), heads: runs.map(\.head))
            var sides = [Tensor?](repeating: nil, count: runs.count)
            if !sided.isEmpty {
                let s = logits(f.attach.gather(cIdx), heads: sided.map { runs[$0].side })
                for (j, r) in sided.enumerated() { sides[r] = s[j] }
            }
            for r in runs.indices {
                for bStart in stride(from: 0, to: cIdx.count, by: bs) {
                    let range = bStart..<min(cIdx.count, bStart + bs)
                    let whole = range.count == cIdx.count
                    try body(r, cStart + bStart, Array(cIdx[range]), whole ? mains[r] : mains[r].rows(range),
                             whole ? sides[r] : sides[r]?.rows(range))
                }
            }
            try heartbeat()
        }
    }

    /// Eval-mode logits of each head on the same rows x [n, F]: the first layers stacked into one
    /// GEMM (bias rows first, then C += X Wᵀ, as `Linear.forward`), then per head BatchNorm,
    /// ReLU and the output layer on its own 32 columns.
    static func logits(_ x: Tensor, heads: [MLPHead]) -> [Tensor] {
        guard let first = heads.first else { return [] }
        let n = x.shape[0], k = first.inFeatures
        let widths = heads.map(\.hidden), total = widths.reduce(0, +)
        var w = [Float](), b = [Float]()
        w.reserveCapacity(total * k)
        b.reserveCapacity(total)
        for h in heads {
            precondition(h.inFeatures == k && h.fc1.bias != nil, "stacked heads need the same input width and fc1 biases")
            w += h.fc1.weight.value.data  // [hidden, F] row-major: stacking = concatenation
            b += h.fc1.bias!.value.data
        }
        var y = Tensor(uninitializedShape: [n, total])  // [n, 32·R]
        y.data.withUnsafeMutableBufferPointer { py in
            b.withUnsafeBufferPointer { pb in
                for r in 0..<n { (py.baseAddress! + r * total).update(from: pb.baseAddress!, count: total) }
            }
            x.data.withUnsafeBufferPointer { px in
                w.withUnsafeBufferPointer { pw in
                    sgemm(transB: true, m: n, n: total, k: k, a: px.baseAddress!, b: pw.baseAddress!, beta: 1,
                          c: py.baseAddress!)
                }
            }
        }
        var out: [Tensor] = []
        var col = 0
        for (h, width) in zip(heads, widths) {
            var part = Tensor(uninitializedShape: [n, width])  // this head's columns
            y.data.withUnsafeBufferPointer { py in
                part.data.withUnsafeMutableBufferPointer { pp in
                    for r in 0..<n { (pp.baseAddress! + r * width).update(from: py.baseAddress! + r * total + col, count: width) }
                }
            }
            col += width
            out.append(h.fc2.forward(ReLU().forward(h.bn.forward(part, mode: .eval))))
        }
        return out
    }

    /// Validation losses and accuracies of every run (per evaluation batch, as `RunJob.validate`).
    static func validate(_ runs: [LockstepRun], features f: FeatureCache.Features, data: PreparedData, batchSize: Int,
                         heartbeat: () throws -> Void) throws -> [HeadsValidation] {
        var lm = [Double](repeating: 0, count: runs.count), ls = lm
        var cm = [Int](repeating: 0, count: runs.count), cs = cm
        try forEachBatch(runs, features: f, idxs: data.validation, batchSize: batchSize, heartbeat: heartbeat) { r, _, idx, main, side in
            let labels = idx.map { data.labels[$0] }
            lm[r] += headLoss(main, labels: labels).loss * Double(idx.count)
            cm[r] += zip(predictions(main), labels).filter { $0.0.pred == $0.1 }.count
            if let side {
                ls[r] += headLoss(side, labels: labels).loss * Double(idx.count)
                cs[r] += zip(predictions(side), labels).filter { $0.0.pred == $0.1 }.count
            }
        }
        let n = Double(max(data.validation.count, 1))
        return runs.indices.map { r in
            let s = runs[r].withSide
            return HeadsValidation(lossMain: lm[r] / n, lossSide: s ? ls[r] / n : nil, accMain: Double(cm[r]) / n,
                                   accSide: s ? Double(cs[r]) / n : nil)
        }
    }

    /// Per-example prediction rows of every run on `idxs` (row idx = position in `idxs`).
    static func predictionRows(_ runs: [LockstepRun], features f: FeatureCache.Features, idxs: [Int], data: PreparedData,
                               batchSize: Int, heartbeat: () throws -> Void) throws -> [[PredictionRow]] {
        var rows = [[PredictionRow]](repeating: [], count: runs.count)
        try forEachBatch(runs, features: f, idxs: idxs, batchSize: batchSize, heartbeat: heartbeat) { r, start, idx, main, side in
            let pm = predictions(main), ps = side.map(predictions)
            let k = main.shape[1]
            for (i, poolIndex) in idx.enumerated() {
                rows[r].append(PredictionRow(runId: runs[r].runId, idx: start + i, label: data.labels[poolIndex],
                                             sidePred: ps?[i].pred, sideConf: ps?[i].conf,
                                             mainPred: pm[i].pred, mainConf: pm[i].conf,
                                             sideLogits: side.map { Array($0.data[(i * k)..<(i * k + k)]) },
                                             mainLogits: Array(main.data[(i * k)..<(i * k + k)])))
            }
        }
        return rows
    }
}
