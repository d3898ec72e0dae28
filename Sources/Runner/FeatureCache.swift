import Foundation
import Specs
import Tensors
import WeightIO

/// Frozen-backbone features (the SideNet input at the attach point and the head input) for every
/// example of a data pool, computed once per (backbone weights, data, preprocessing, attach point,
/// storage dtype) and kept on disk under `results/cache/` keyed by a content hash, so later
/// epochs, seeds and variants never run the backbone again.
///
/// The file is a safetensors file (tensors "attach" [N, Fa] and "head" [N, Fh], dtype F32 or
/// F16) written in streamed chunks straight from the feature storage and read by mapping it
/// (`FeatureFileMapping`): no second copy of a multi-gigabyte feature set is ever held, and a
/// later run reads the rows where the page cache already holds them.
final class FeatureCache {
    struct Features {
        var attach: FeatureMatrix   // [N, Fa]
        var head: FeatureMatrix     // [N, Fh]
    }

    let directory: URL
    private var memory: [String: Features] = [:]
    /// The cache file write still under way (`features` starts it in the background once the
    /// rows are built, so training starts at once), and its error, if any, once it ends.
    private var writing: DispatchGroup?
    private let writeError = ErrorBox()

    init(directory: URL) { self.directory = directory }

    func url(for key: String) -> URL { directory.appendingPathComponent("features-\(key).safetensors") }

    /// The cache key of a spec's features: backbone arch, config and weight file digest (or the
    /// random init seed), attach point, data identity, and the storage dtype unless float32. Single
    /// runs (`RunJob.featureCacheKey`) and lockstep groups both key by it, so they share one cache.
    static func key(_ spec: ExperimentSpec, data: PreparedData, seed: Int, baseDir: URL) throws -> String {
        var weights = "random-init-seed\(seed)"
        if let w = spec.mainnet.weights {
            weights = try FileDigest.digest(WeightsCatalog.require(w, arch: spec.mainnet.arch, baseDir: baseDir))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]  // a stable key: unsorted JSON varies between calls
        let config = (try? encoder.encode(spec.mainnet.resolvedConfig)).flatMap { String(data: $0, encoding: .utf8) } ?? "?"
        let dtype = spec.training.featureCacheDType
        var parts = ["v1", spec.mainnet.arch.rawValue, config, weights, spec.sidenet.attach, data.identity]
        if dtype != .float32 { parts.append(dtype.rawValue) }  // float32 keys are those of older caches
        return FileDigest.hash(parts.joined(separator: "|"))
    }

    /// The features for `key`, computing them with `compute` (batches of pool indices, visited in
    /// `order`, a permutation of the pool) when absent. Rows come back in pool order.
    func features(key: String, poolCount: Int, order: [Int], batchSize: Int, dtype: FeatureCacheDType,
                  stats: inout RunnerStats, progress: ProgressSink, stop: StopSignal,
                  compute: ([Int]) throws -> (attach: Tensor, head: Tensor)) throws -> Features {
        precondition(order.count == poolCount, "feature order covers \(order.count) of \(poolCount) examples")
        if let f = memory[key] { stats.featureCacheHits += 1; return f }
        if let problem = finishWrites() { progress.note(problem) }
        memory = [:]  // drop the previous set before building the next: feature sets can be gigabytes
        let file = url(for: key)
        if FileManager.default.fileExists(atPath: file.path),
           let f = try? FeatureCache.read(file, rows: poolCount, dtype: dtype) {
            stats.featureCacheHits += 1
            memory = [key: f]
            return f
        }
        stats.featureCacheMisses += 1
        progress.begin("features", total: poolCount, unit: "ex")
        var f: Features?
        var heap = FeatureBatchHeap()
        for start in stride(from: 0, to: poolCount, by: batchSize) {
            if stop.isRequested { throw RunnerError.interrupted }
            let rows = order[start..<min(poolCount, start + batchSize)]
            let (a, h) = try compute(Array(rows))
            try FeatureRange.check(a, name: "attach", dtype: dtype)
            try FeatureRange.check(h, name: "head", dtype: dtype)
            if f == nil {
                f = Features(attach: FeatureMatrix(rows: poolCount, cols: a.count / max(1, rows.count), dtype: dtype),
                             head: FeatureMatrix(rows: poolCount, cols: h.count / max(1, rows.count), dtype: dtype))
            }
            // batch row r is example order[start + r]: stored at its pool row
            f!.attach.setRows(rows, from: a)
            f!.head.setRows(rows, from: h)
            stats.backboneFeatureBatches += 1
            progress.advance(to: start + rows.count)
            heap.afterBatch()
        }
        heap.finish()
        guard let features = f else { throw RunnerError.invalid("feature cache: the data pool is empty") }
        progress.end("\(poolCount) examples, attach \(features.attach.cols) + head \(features.head.cols) \(dtype.rawValue) features cached")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The file is written by a background thread at the lowest priority while the heads
        // train on the rows in memory: copying gigabytes into the page cache (seconds of CPU)
        // then fills the training threads' idle moments instead of delaying the first epoch.
        // `finishWrites` waits for it (the runner calls it before it returns).
        let group = DispatchGroup(), box = writeError
        group.enter()
        let writer = Thread {
            defer { group.leave() }
            #if os(Linux)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)   // this thread only on Linux
            #endif
            do { try FeatureCache.write(features, key: key, to: file) } catch {
                box.set("feature cache: could not write \(file.path): \(error) (the runs go on; a later run rebuilds the features)")
            }
        }
        writer.start()
        writing = group
        memory = [key: features]  // keep one entry: feature sets can be gigabytes
        return features
    }

    /// Waits for a cache file write under way; returns what went wrong with it, if anything.
    @discardableResult
    func finishWrites() -> String? {
        guard let group = writing else { return nil }
        group.wait()
        writing = nil
        return writeError.take()
    }

    // MARK: file

    private static func dtypeName(_ d: FeatureCacheDType) -> String { d == .float32 ? "F32" : "F16" }

    /// Writes a safetensors file: 8-byte little-endian header length, JSON header (padded with
    /// spaces to a multiple of 8), then the tensors' bytes, streamed in chunks.
    static func write(_ f: Features, key: String, to url: URL) throws {
        let a = f.attach, h = f.head
        let name = dtypeName(a.dtype)
        var header = "{\"__metadata__\":{\"key\":\"\(key)\"},"
            + "\"attach\":{\"dtype\":\"\(name)\",\"shape\":[\(a.rows),\(a.cols)],\"data_offsets\":[0,\(a.byteCount)]},"
            + "\"head\":{\"dtype\":\"\(name)\",\"shape\":[\(h.rows),\(h.cols)],\"data_offsets\":[\(a.byteCount),\(a.byteCount + h.byteCount)]}}"
        while header.utf8.count % 8 != 0 { header += " " }
        let tmp = url.appendingPathExtension("partial")
        FileManager.default.createFile(atPath: tmp.path, contents: nil)
        let out = try FileHandle(forWritingTo: tmp)
        do {
            var length = UInt64(header.utf8.count).littleEndian
            try out.write(contentsOf: Data(bytes: &length, count: 8))
            try out.write(contentsOf: Data(header.utf8))
            for m in [a, h] {
                try m.withBytes { raw in
                    let chunk = 64 << 20
                    for start in stride(from: 0, to: raw.count, by: chunk) {
                        let part = UnsafeRawBufferPointer(rebasing: raw[start..<min(raw.count, start + chunk)])
                        try out.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: part.baseAddress!),
                                                       count: part.count, deallocator: .none))
                    }
                }
            }
            try out.close()
        } catch {
            try? out.close()
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
        // a complete file appears at once: a killed writer never leaves a truncated cache behind
        _ = try? FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: tmp, to: url)
    }

    /// Reads a cache file written by `write`, mapped in place (`FeatureFileMapping`); nil when it
    /// does not hold `rows` rows of `dtype` (then the features are recomputed and the file replaced).
    static func read(_ url: URL, rows: Int, dtype: FeatureCacheDType) throws -> Features? {
        guard let map = FeatureFileMapping(path: url.path), map.count >= 8 else { return nil }
        let length = UnsafeRawPointer(map.base).loadUnaligned(as: UInt64.self).littleEndian
        guard length > 0, length < 1 << 20, 8 + Int(length) <= map.count else { return nil }
        let headerData = Data(bytes: map.base + 8, count: Int(length))
        guard let header = try JSONSerialization.jsonObject(with: headerData) as? [String: Any] else { return nil }
        let dataStart = 8 + Int(length)
        func matrix(_ name: String) -> (cols: Int, start: Int)? {
            guard let t = header[name] as? [String: Any], t["dtype"] as? String == dtypeName(dtype),
                  let shape = t["shape"] as? [Int], shape.count == 2, shape[0] == rows, shape[1] > 0,
                  let offsets = t["data_offsets"] as? [Int], offsets.count == 2,
                  offsets[1] - offsets[0] == FeatureMatrix.byteCount(rows: rows, cols: shape[1], dtype: dtype) else { return nil }
            return (shape[1], offsets[0])
        }
        guard let a = matrix("attach"), let h = matrix("head"), a.start == 0,
              h.start == FeatureMatrix.byteCount(rows: rows, cols: a.cols, dtype: dtype),
              dataStart + h.start + FeatureMatrix.byteCount(rows: rows, cols: h.cols, dtype: dtype) <= map.count else { return nil }
        return Features(attach: FeatureMatrix(rows: rows, cols: a.cols, dtype: dtype, mapping: map, offset: dataStart + a.start),
                        head: FeatureMatrix(rows: rows, cols: h.cols, dtype: dtype, mapping: map, offset: dataStart + h.start))
    }
}

/// How validation and test run on cached features: the heads see chunks of about `chunkBytes`
/// of gathered Float32 rows at once (whole numbers of evaluation batches), instead of one
/// evaluation batch at a time. 0 = one batch at a time (the behaviour before chunking; tests
/// compare the two).
public enum FeatureEvaluation {
    nonisolated(unsafe) public static var chunkBytes = 128 << 20
}

/// One error message handed from a background thread to the thread that waits for it.
private final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var message: String?
    func set(_ m: String) { lock.lock(); message = m; lock.unlock() }
    func take() -> String? { lock.lock(); defer { message = nil; lock.unlock() }; return message }
}
