import Foundation
import Tensors
import WeightIO

/// Frozen-backbone features (the SideNet input at the attach point and the head input) for every
/// example of a data pool, computed once per (backbone weights, data, preprocessing, attach point)
/// and kept on disk under `results/cache/` keyed by a content hash, so later epochs, seeds and
/// variants never run the backbone again.
final class FeatureCache {
    struct Features {
        var attach: Tensor   // [N, Fa]
        var head: Tensor     // [N, Fh]
    }

    let directory: URL
    private var memory: [String: Features] = [:]

    init(directory: URL) { self.directory = directory }

    func url(for key: String) -> URL { directory.appendingPathComponent("features-\(key).safetensors") }

    /// The features for `key`, computing them with `compute` (batches of pool indices, visited in
    /// `order`, a permutation of the pool) when absent. Rows come back in pool order.
    func features(key: String, poolCount: Int, order: [Int], batchSize: Int, stats: inout RunnerStats,
                  progress: ProgressSink, stop: StopSignal,
                  compute: ([Int]) throws -> (attach: Tensor, head: Tensor)) throws -> Features {
        precondition(order.count == poolCount, "feature order covers \(order.count) of \(poolCount) examples")
        if let f = memory[key] { stats.featureCacheHits += 1; return f }
        let file = url(for: key)
        if FileManager.default.fileExists(atPath: file.path),
           let t = try? SafeTensors.load(file), let a = t["attach"], let h = t["head"],
           a.shape.first == poolCount, h.shape.first == poolCount {
            stats.featureCacheHits += 1
            let f = Features(attach: a, head: h)
            memory = [key: f]
            return f
        }
        stats.featureCacheMisses += 1
        progress.begin("features", total: poolCount, unit: "ex")
        var attachRows: [Tensor] = [], headRows: [Tensor] = []
        var done = 0
        for start in stride(from: 0, to: poolCount, by: batchSize) {
            if stop.isRequested { throw RunnerError.interrupted }
            let idx = Array(order[start..<min(poolCount, start + batchSize)])
            let (a, h) = try compute(idx)
            attachRows.append(a)
            headRows.append(h)
            stats.backboneFeatureBatches += 1
            done += idx.count
            progress.advance(to: done)
        }
        // row r of the concatenation is example order[r]; put example i back at row i (no copy
        // when the order is the pool order: image caches are gigabytes)
        var f = Features(attach: Tensor.concatRows(attachRows), head: Tensor.concatRows(headRows))
        attachRows = []
        headRows = []
        if order != Array(0..<poolCount) {
            var position = [Int](repeating: 0, count: poolCount)
            for (r, i) in order.enumerated() { position[i] = r }
            f = Features(attach: f.attach.gatherRows(position), head: f.head.gatherRows(position))
        }
        progress.end("\(poolCount) examples, attach \(f.attach.shape[1]) + head \(f.head.shape[1]) features cached")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SafeTensors.write(["attach": f.attach, "head": f.head], metadata: ["key": key], to: file)
        memory = [key: f]  // keep one entry: feature sets can be gigabytes
        return f
    }
}
