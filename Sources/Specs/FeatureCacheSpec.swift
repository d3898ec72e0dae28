/// Storage type of the frozen-backbone feature cache (regimes `heads` and `sidenet`).
public enum FeatureCacheDType: String, Codable, CaseIterable, Sendable {
    /// Exact features (the default).
    case float32
    /// IEEE half precision, rounded to nearest-even once when the cache is written: half the
    /// memory and disk; the heads still compute in Float32 on the rounded features.
    case float16
}

/// `training.feature_cache`: how the frozen backbone's features are kept between epochs.
public struct FeatureCacheSpec: Codable, Equatable, Sendable {
    public var dtype: FeatureCacheDType

    enum CodingKeys: String, CodingKey, CaseIterable { case dtype }

    public init(dtype: FeatureCacheDType = .float32) { self.dtype = dtype }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: CodingKeys.allCases.map { $0.rawValue })
        self.init(dtype: try m.value("dtype", default: .float32) { try $0.choice(FeatureCacheDType.self) })
    }
}
