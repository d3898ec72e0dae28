public enum OptimizerName: String, Codable, CaseIterable, Sendable { case adam }

/// Validation metric watched by ReduceLROnPlateau and used to pick the best epoch.
public enum MonitorName: String, Codable, CaseIterable, Sendable {
    /// The training objective on the validation set: L_M + alpha * L_S (L_M for the baseline).
    case valLoss = "val_loss"
    case valLossMain = "val_loss_main"
    case valLossSide = "val_loss_side"
}

public enum ThresholdModeName: String, Codable, CaseIterable, Sendable { case rel, abs }

/// `training.optimizer`: Adam (PyTorch semantics, coupled L2 weight decay).
public struct OptimizerSpec: Codable, Equatable, Sendable {
    public var name: OptimizerName
    public var lr: Double
    public var weightDecay: Double
    public var betas: [Double]
    public var eps: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, lr, weightDecay = "weight_decay", betas, eps
    }

    public init(name: OptimizerName = .adam, lr: Double, weightDecay: Double = 0,
                betas: [Double] = [0.9, 0.999], eps: Double = 1e-8) {
        self.name = name; self.lr = lr; self.weightDecay = weightDecay; self.betas = betas; self.eps = eps
    }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: CodingKeys.allCases.map { $0.rawValue })
        self.init(name: try m.value("name", default: .adam) { try $0.choice(OptimizerName.self) },
                  lr: try m.required("lr") { try $0.double() },
                  weightDecay: try m.value("weight_decay", default: 0) { try $0.double() },
                  betas: try m.value("betas", default: [0.9, 0.999]) { try $0.array { try $0.double() } },
                  eps: try m.value("eps", default: 1e-8) { try $0.double() })
    }
}

/// `training.plateau`: ReduceLROnPlateau (PyTorch semantics, mode min).
public struct PlateauSpec: Codable, Equatable, Sendable {
    public var factor: Double
    public var patience: Int
    public var threshold: Double
    public var thresholdMode: ThresholdModeName
    public var cooldown: Int
    public var minLR: Double
    public var monitor: MonitorName

    enum CodingKeys: String, CodingKey, CaseIterable {
        case factor, patience, threshold, thresholdMode = "threshold_mode", cooldown
        case minLR = "min_lr", monitor
    }

    public init(factor: Double = 1.0 / 3.0, patience: Int = 5, threshold: Double = 1e-4,
                thresholdMode: ThresholdModeName = .rel, cooldown: Int = 0, minLR: Double = 0,
                monitor: MonitorName = .valLoss) {
        self.factor = factor; self.patience = patience; self.threshold = threshold
        self.thresholdMode = thresholdMode; self.cooldown = cooldown; self.minLR = minLR
        self.monitor = monitor
    }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: CodingKeys.allCases.map { $0.rawValue })
        let d = PlateauSpec()
        self.init(factor: try m.value("factor", default: d.factor) { try $0.double() },
                  patience: try m.value("patience", default: d.patience) { try $0.int() },
                  threshold: try m.value("threshold", default: d.threshold) { try $0.double() },
                  thresholdMode: try m.value("threshold_mode", default: d.thresholdMode) { try $0.choice(ThresholdModeName.self) },
                  cooldown: try m.value("cooldown", default: d.cooldown) { try $0.int() },
                  minLR: try m.value("min_lr", default: d.minLR) { try $0.double() },
                  monitor: try m.value("monitor", default: d.monitor) { try $0.choice(MonitorName.self) })
    }
}

/// `training:` section.
public struct TrainingSpec: Codable, Equatable, Sendable {
    public var regime: Regime
    public var optimizer: OptimizerSpec
    public var epochs: Int
    public var batchSize: Int
    public var plateau: PlateauSpec
    /// Weight of the SideNet loss: L = L_M + alpha * L_S.
    public var alpha: Double
    /// Feature-cache storage; nil (absent, or dtype float32) keeps exact Float32 features and
    /// leaves the canonical JSON and the spec hash as they were before this field existed.
    public var featureCache: FeatureCacheSpec?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case regime, optimizer, epochs, batchSize = "batch_size", plateau, alpha
        case featureCache = "feature_cache"
    }

    public init(regime: Regime, optimizer: OptimizerSpec, epochs: Int, batchSize: Int,
                plateau: PlateauSpec = PlateauSpec(), alpha: Double = 1.0, featureCache: FeatureCacheSpec? = nil) {
        self.regime = regime; self.optimizer = optimizer; self.epochs = epochs
        self.batchSize = batchSize; self.plateau = plateau; self.alpha = alpha
        self.featureCache = featureCache?.dtype == .float32 ? nil : featureCache
    }

    /// The feature cache's storage type (float32 unless `feature_cache.dtype` says otherwise).
    public var featureCacheDType: FeatureCacheDType { featureCache?.dtype ?? .float32 }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: CodingKeys.allCases.map { $0.rawValue })
        self.init(regime: try m.required("regime") { try $0.choice(Regime.self) },
                  optimizer: try m.required("optimizer") { try OptimizerSpec($0) },
                  epochs: try m.required("epochs") { try $0.int() },
                  batchSize: try m.required("batch_size") { try $0.int() },
                  plateau: try m.value("plateau", default: PlateauSpec()) { try PlateauSpec($0) },
                  alpha: try m.value("alpha", default: 1.0) { try $0.double() },
                  featureCache: try m.optional("feature_cache") { try FeatureCacheSpec($0) })
    }
}
