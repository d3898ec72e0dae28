import Foundation

/// How much work one experiment is, counted from its spec and data sizes (no timing).
public struct PlanWorkload: Equatable, Sendable {
    public var experiment: String
    public var regime: String
    /// (variant, seed) pairs: one run each.
    public var runs: Int
    public var epochs: Int
    public var trainExamples: Int
    public var validationExamples: Int
    public var testExamples: Int
    /// Examples a frozen backbone visits once to build the feature cache (0 in regime full).
    public var featurePassExamples: Int
    /// Feature passes: 1 when every run shares the weight file, else one per seed (random init).
    public var featurePasses: Int

    public init(experiment: String, regime: String, runs: Int, epochs: Int, trainExamples: Int,
                validationExamples: Int, testExamples: Int, featurePassExamples: Int = 0, featurePasses: Int = 0) {
        self.experiment = experiment
        self.regime = regime
        self.runs = runs
        self.epochs = epochs
        self.trainExamples = trainExamples
        self.validationExamples = validationExamples
        self.testExamples = testExamples
        self.featurePassExamples = featurePassExamples
        self.featurePasses = featurePasses
    }

    /// Training examples × epochs × runs: what the training steps see in total.
    public var trainedExamples: Int { runs * epochs * trainExamples }
}

/// Measured speed of this machine on one experiment's workload, examples per second.
public struct PlanThroughput: Equatable, Sendable {
    /// Training steps (forward + backward + Adam) of what the regime trains: the whole network in
    /// regime full, the heads on cached features otherwise.
    public var trainPerSecond: Double
    /// Evaluation passes (validation each epoch, test once) of what the regime evaluates.
    public var evalPerSecond: Double
    /// Eval-mode backbone pass that builds the feature cache (frozen regimes).
    public var featurePerSecond: Double

    public init(trainPerSecond: Double, evalPerSecond: Double, featurePerSecond: Double) {
        self.trainPerSecond = trainPerSecond
        self.evalPerSecond = evalPerSecond
        self.featurePerSecond = featurePerSecond
    }
}

/// The estimate for one experiment.
public struct PlanEstimate: Equatable, Sendable {
    public var workload: PlanWorkload
    public var throughput: PlanThroughput
    /// Seconds of one run (training epochs, validation each epoch, one test pass).
    public var secondsPerRun: Double
    /// Seconds of the shared feature passes (frozen regimes).
    public var featureSeconds: Double
    public var totalSeconds: Double { secondsPerRun * Double(workload.runs) + featureSeconds }
    public var hours: Double { totalSeconds / 3600 }
}

/// The plan's arithmetic: pure functions of workloads and throughputs.
public enum PlanMath {
    /// Seconds for one experiment on one machine of the measured speed.
    public static func estimate(_ w: PlanWorkload, _ t: PlanThroughput) -> PlanEstimate {
        let epoch = Double(w.trainExamples) / t.trainPerSecond + Double(w.validationExamples) / t.evalPerSecond
        let run = Double(w.epochs) * epoch + Double(w.testExamples) / t.evalPerSecond
        let features = w.featurePasses > 0 ? Double(w.featurePasses * w.featurePassExamples) / t.featurePerSecond : 0
        return PlanEstimate(workload: w, throughput: t, secondsPerRun: run, featureSeconds: features)
    }

    /// Wall-clock seconds on `machines` machines of this speed when runs are the unit of work:
    /// longest-first greedy assignment (each run goes to the least loaded machine). The feature
    /// pass of an experiment precedes its runs, so it is added to each of them (the cache is per
    /// machine). Never less than the longest run; equals the sum on one machine.
    public static func wallSeconds(_ estimates: [PlanEstimate], machines: Int) -> Double {
        precondition(machines >= 1)
        var jobs: [Double] = []
        for e in estimates where e.workload.runs > 0 {
            if machines == 1 {
                jobs.append(e.totalSeconds)
                continue
            }
            let perRunFeature = e.featureSeconds / Double(max(e.workload.featurePasses, 1))
            for _ in 0..<e.workload.runs { jobs.append(e.secondsPerRun + perRunFeature) }
        }
        if machines == 1 { return jobs.reduce(0, +) }
        var load = [Double](repeating: 0, count: machines)
        for j in jobs.sorted(by: >) {
            let i = load.indices.min { load[$0] < load[$1] }!
            load[i] += j
        }
        return load.max() ?? 0
    }
}
