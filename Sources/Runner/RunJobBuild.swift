import Foundation
import Specs

/// Building a run's network: the spec's MainNet and SideNet with weights loaded, its parts
/// frozen as the regime declares, and (backbone frozen in eval mode) the cached features.
extension RunJob {
    func build() throws {
        let d = declaration
        model = RegimeNet(try buildRunNet(spec, data: data, seed: seed, options: options), declaration: d, withSide: withSide)
        if d.cachesFeatures { model.features = try cachedFeatures() }
    }

    /// The cache key: everything the frozen backbone's features depend on (`FeatureCache.key`,
    /// shared with lockstep groups so a group and a single run read one cache).
    func featureCacheKey() throws -> String {
        try FeatureCache.key(spec, data: data, seed: seed, baseDir: options.baseDir)
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

/// The spec's network for one run, weights loaded (`buildNet`), checked against what the regime
/// needs loaded; loading warnings go to the progress notes. Single runs and lockstep groups alike.
func buildRunNet(_ spec: ExperimentSpec, data: PreparedData, seed: Int, options: RunOptions) throws -> Net {
    try buildRunNetLoaded(spec, data: data, seed: seed, options: options).net
}

/// `buildRunNet`, also saying whether the weight file set the MainNet head (`head.*`).
func buildRunNetLoaded(_ spec: ExperimentSpec, data: PreparedData, seed: Int, options: RunOptions) throws -> (net: Net, headLoaded: Bool) {
    let (net, warnings, headLoaded) = try buildNet(spec, data: data, seed: seed, baseDir: options.baseDir)
    let d = spec.training.regime.declaration
    if d.needsLoadedHead && !headLoaded {
        throw RunnerError.invalid("\(spec.name): regime \(d.regime.rawValue) keeps the MainNet as loaded, so mainnet.weights must be a "
            + "sidenet checkpoint holding the backbone and head.* (e.g. the best checkpoint of a full-regime run)")
    }
    for w in warnings { options.progress.note("  \(spec.name): \(w)") }
    return (net, headLoaded)
}
