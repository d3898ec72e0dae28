/// `torch.optim.lr_scheduler.ReduceLROnPlateau` (formats.md 9.1) driving an `Adam`'s lr.
///
/// Call `step(metric:)` once per epoch with the validation metric. The lr drops on the
/// (patience+1)-th consecutive non-improving epoch: `new = max(old * factor, minLR)`, applied only
/// if `old - new > eps`. NaN is never an improvement. All arithmetic is Double like Python floats.
/// The paper's schedule: factor 1/3, patience 5, mode min on the validation loss.
public final class ReduceLROnPlateau {
    public enum Mode: String, Codable, Sendable { case min, max }
    public enum ThresholdMode: String, Codable, Sendable { case rel, abs }

    public let optimizer: Adam
    public let mode: Mode
    public let factor: Double
    public let patience: Int
    public let threshold: Double
    public let thresholdMode: ThresholdMode
    public let cooldown: Int
    public let minLR: Double
    public let eps: Double

    /// Best metric so far (+inf / -inf before the first step).
    public private(set) var best: Double
    public private(set) var numBadEpochs = 0
    public private(set) var cooldownCounter = 0
    /// Number of `step` calls so far.
    public private(set) var lastEpoch = 0

    public init(optimizer: Adam, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10,
                threshold: Double = 1e-4, thresholdMode: ThresholdMode = .rel, cooldown: Int = 0,
                minLR: Double = 0, eps: Double = 1e-8) {
        precondition(factor < 1.0, "ReduceLROnPlateau: factor should be < 1.0, got \(factor)")
        precondition(patience >= 0 && cooldown >= 0, "ReduceLROnPlateau: negative patience or cooldown")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minLR = minLR
        self.eps = eps
        self.best = mode == .min ? .infinity : -.infinity
    }

    /// PyTorch `_is_better`; every comparison with NaN is false, so NaN never improves.
    public func isBetter(_ a: Double, than best: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .rel): return a < best * (1.0 - threshold)
        case (.min, .abs): return a < best - threshold
        case (.max, .rel): return a > best * (threshold + 1.0)
        case (.max, .abs): return a > best + threshold
        }
    }

    /// Records one epoch's metric; returns true if the optimizer's lr was reduced.
    @discardableResult
    public func step(metric: Double) -> Bool {
        lastEpoch += 1
        if isBetter(metric, than: best) {
            best = metric
            numBadEpochs = 0
        } else {
            numBadEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            numBadEpochs = 0  // bad epochs during cooldown are ignored
        }
        var reduced = false
        if numBadEpochs > patience {
            let old = optimizer.lr
            let new = Swift.max(old * factor, minLR)
            if old - new > eps {
                optimizer.lr = new
                reduced = true
            }
            cooldownCounter = cooldown
            numBadEpochs = 0
        }
        return reduced
    }

    /// Counters for checkpoint resume (the lr itself lives in the optimizer's state).
    public func exportState() -> PlateauState {
        PlateauState(best: best, numBadEpochs: numBadEpochs, cooldownCounter: cooldownCounter,
                     lastEpoch: lastEpoch)
    }

    public func importState(_ s: PlateauState) {
        best = s.best
        numBadEpochs = s.numBadEpochs
        cooldownCounter = s.cooldownCounter
        lastEpoch = s.lastEpoch
    }
}

/// ReduceLROnPlateau counters. `best` is ±infinity before the first step; in JSON it is a
/// number, or the string "inf" / "-inf" (JSON has no infinities).
public struct PlateauState: Codable, Equatable {
    public var best: Double
    public var numBadEpochs: Int
    public var cooldownCounter: Int
    public var lastEpoch: Int

    public init(best: Double, numBadEpochs: Int, cooldownCounter: Int, lastEpoch: Int) {
        self.best = best; self.numBadEpochs = numBadEpochs
        self.cooldownCounter = cooldownCounter; self.lastEpoch = lastEpoch
    }

    enum CodingKeys: String, CodingKey { case best, numBadEpochs, cooldownCounter, lastEpoch }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let s = try? c.decode(String.self, forKey: .best) {
            switch s {
            case "inf": best = .infinity
            case "-inf": best = -.infinity
            default:
                throw DecodingError.dataCorruptedError(forKey: .best, in: c,
                    debugDescription: "expected a number, \"inf\" or \"-inf\", got \"\(s)\"")
            }
        } else {
            best = try c.decode(Double.self, forKey: .best)
        }
        numBadEpochs = try c.decode(Int.self, forKey: .numBadEpochs)
        cooldownCounter = try c.decode(Int.self, forKey: .cooldownCounter)
        lastEpoch = try c.decode(Int.self, forKey: .lastEpoch)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if best == .infinity { try c.encode("inf", forKey: .best) }
        else if best == -.infinity { try c.encode("-inf", forKey: .best) }
        else { try c.encode(best, forKey: .best) }
        try c.encode(numBadEpochs, forKey: .numBadEpochs)
        try c.encode(cooldownCounter, forKey: .cooldownCounter)
        try c.encode(lastEpoch, forKey: .lastEpoch)
    }
}
