import Foundation

// Counts of one split at every theta of a grid, computed once by sorting the exit scores
// (O(n log n + grid)), so threshold choices and re-split checks stay cheap.

/// Counts at one theta.
public struct ThetaCounts: Sendable, Hashable {
    public var theta: Double
    public var inputs: Int
    /// Inputs with score >= theta (answered by the SideNet).
    public var exits: Int
    /// Correct answers of the early-exit model (SideNet on exits, MainNet otherwise).
    public var correct: Int
    /// Correct answers of the MainNet head on every input (the reference).
    public var mainCorrect: Int
    /// Exits the SideNet got wrong although the MainNet would have been right ("harm").
    public var harm: Int
}

/// Per-input cost of the two paths (sweep convention: an exit costs prefix + SideNet, any other
/// input MainNet + SideNet).
public struct PathCost: Sendable, Hashable {
    public var exitParams: Double, fullParams: Double, exitFlops: Double, fullFlops: Double

    public init(_ c: Compute) {
        exitParams = Double(c.paramsPrefix + c.paramsSideNet)
        fullParams = Double(c.paramsMainNet + c.paramsSideNet)
        exitFlops = Double(c.flopsPrefix + c.flopsSideNet)
        fullFlops = Double(c.flopsMainNet + c.flopsSideNet)
    }
}

/// The metrics `choose` prints for one split at one theta.
public struct SplitMetrics: Sendable, Hashable, Codable {
    public var inputs: Int
    public var accuracyPct: Double
    public var mainnetAccuracyPct: Double
    public var exitRate: Double
    public var paramsPerInput: Double
    public var flopsPerInput: Double
    /// MainNet accuracy minus early-exit accuracy, in points.
    public var dropPts: Double { mainnetAccuracyPct - accuracyPct }

    public init(_ c: ThetaCounts, cost: PathCost) {
        let n = Double(max(c.inputs, 1)), e = Double(c.exits)
        inputs = c.inputs
        accuracyPct = 100 * Double(c.correct) / n
        mainnetAccuracyPct = 100 * Double(c.mainCorrect) / n
        exitRate = e / n
        paramsPerInput = (e * cost.exitParams + (n - e) * cost.fullParams) / n
        flopsPerInput = (e * cost.exitFlops + (n - e) * cost.fullFlops) / n
    }
}

/// Counts of a split at every theta of an ascending grid.
public struct ThetaTable: Sendable {
    public var counts: [ThetaCounts]

    public init(_ outcomes: [ExitOutcome], thetas: [Double]) {
        let sorted = outcomes.sorted { $0.score > $1.score }
        let mainCorrect = outcomes.filter(\.mainOK).count
        var result = [ThetaCounts](repeating: ThetaCounts(theta: 0, inputs: 0, exits: 0, correct: 0,
                                                          mainCorrect: 0, harm: 0), count: thetas.count)
        var k = 0, exitSideOK = 0, exitMainOK = 0, harm = 0
        for t in thetas.indices.reversed() {
            let theta = thetas[t]
            while k < sorted.count && sorted[k].score >= theta {
                let o = sorted[k]
                if o.sideOK { exitSideOK += 1 }
                if o.mainOK { exitMainOK += 1 }
                if o.mainOK && !o.sideOK { harm += 1 }
                k += 1
            }
            result[t] = ThetaCounts(theta: theta, inputs: outcomes.count, exits: k,
                                    correct: mainCorrect - exitMainOK + exitSideOK,
                                    mainCorrect: mainCorrect, harm: harm)
        }
        counts = result
    }

    /// Counts at an arbitrary theta (not necessarily on the grid).
    public static func counts(_ outcomes: [ExitOutcome], theta: Double) -> ThetaCounts {
        ThetaTable(outcomes, thetas: [theta]).counts[0]
    }

    /// Counts when no input exits (the MainNet alone answers everything).
    public static func noExit(_ outcomes: [ExitOutcome]) -> ThetaCounts {
        let m = outcomes.filter(\.mainOK).count
        return ThetaCounts(theta: .infinity, inputs: outcomes.count, exits: 0, correct: m, mainCorrect: m, harm: 0)
    }
}
