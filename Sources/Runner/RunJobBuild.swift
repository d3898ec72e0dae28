import Foundation
import Specs

/// Building a run's network: the spec's MainNet and SideNet with weights loaded, its parts
/// frozen as the regime declares, and (backbone frozen in eval mode) the cached features.
extension RunJob {
    func build() throws {
        let (net, warnings, headLoaded) = try buildNet(spec, data: data, seed: seed, baseDir: options.baseDir)
        let d = declaration
        if d.needsLoadedHead && !headLoaded {
            throw RunnerError.invalid("\(spec.name): regime \(d.regime.rawValue) keeps the MainNet as loaded, so mainnet.weights must be a "
                + "sidenet checkpoint holding the backbone and head.* (e.g. the best checkpoint of a full-regime run)")
        }
        for w in warnings { options.progress.note("  \(spec.name): \(w)") }
        model = RegimeNet(net, declaration: d, withSide: withSide)
        if d.cachesFeatures { model.features = try cachedFeatures() }
    }

    /// The cache key: everything the frozen backbone's features depend on.
    func featureCacheKey() throws -> String {
        var weights = "random-init-seed\(seed)"
        if let w = spec.mainnet.weights {
            weights = try FileDigest.digest(WeightsCatalog.require(w, arch: spec.mainnet.arch, baseDir: options.baseDir))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]  // a stable key: unsorted JSON varies between calls
        let config = (try? encoder.encode(spec.mainnet.resolvedConfig)).flatMap { String(data: $0, encoding: .utf8) } ?? "?"
        let dtype = spec.training.featureCacheDType
        var parts = ["v1", spec.mainnet.arch.rawValue, config, weights, spec.sidenet.attach, data.identity]
        if dtype != .float32 { parts.append(dtype.rawValue) }  // float32 keys are those of older caches
        return FileDigest.hash(parts.joined(separator: "|"))
    }

    private func cachedFeatures() throws -> FeatureCache.Features {
        let key = try featureCacheKey()
        let net = model.net, data = self.data
        return try cache.features(key: key, poolCount: data.poolCount, order: data.featureOrder,
                                  batchSize: spec.evaluation.batchSize, dtype: spec.training.featureCacheDType,
                                  stats: &stats, progress: options.progress, stop: options.stop) { [self] idx in
            try heartbeatIfDue()  // a long feature pass must not look like an abandoned claim
            return try net.features(idx, data: data)
        }
    }
}
