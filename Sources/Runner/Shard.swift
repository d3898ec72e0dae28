import Foundation
import Specs

/// One share of the work for `sidenet run --shard K/N`: `index` is 1-based (1...count), like
/// the task ids of the Slurm job array that `reproduce.sh --slurm` submits.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, index >= 1, index <= count else {
            throw RunnerError.invalid("--shard \(index)/\(count): K must be between 1 and N (1-based), and N at least 1")
        }
        self.index = index
        self.count = count
    }

    /// Parses "K/N" (1-based K).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw RunnerError.invalid("--shard must be K/N with 1 <= K <= N (1-based, e.g. 2/4), not '\(text)'")
        }
        try self.init(index: k, count: n)
    }

    public var description: String { "\(index)/\(count)" }
}

/// One (experiment, variant, seed): the unit a shard runs.
public struct RunUnit: Hashable, Sendable, CustomStringConvertible {
    public let experiment: String
    public let variant: Variant
    public let seed: Int
    /// Units with the same group share a feature cache (frozen backbone) and go to one shard
    /// while there are at least as many groups as shards.
    public let cacheGroup: String

    public var description: String { "\(experiment) \(variant.rawValue) seed \(seed)" }
}

/// Deterministic partition of the units of a set of specs into N shards. It depends only on
/// the specs (names, seeds, variants, regime, weights) and the seed/variant filters — never on
/// the database or the order of the spec files — so every rerun of shard K runs the same units.
public enum ShardPlan {
    /// Every unit of the specs after the seed/variant filters, sorted by experiment, seed, variant.
    public static func units(_ specs: [ExperimentSpec], seeds: [Int]? = nil, variants: [Variant]? = nil) -> [RunUnit] {
        var out: [RunUnit] = []
        for spec in specs {
            let ss = seeds.map { s in spec.seeds.filter { s.contains($0) } } ?? spec.seeds
            let vs = variants.map { v in spec.variants.filter { v.contains($0) } } ?? spec.variants
            for seed in ss {
                for variant in vs {
                    out.append(RunUnit(experiment: spec.name, variant: variant, seed: seed,
                                       cacheGroup: cacheGroup(spec, variant: variant, seed: seed)))
                }
            }
        }
        return out.sorted(by: unitOrder)
    }

    /// The feature cache key of RunJob depends on the spec and, for a randomly initialised
    /// MainNet, on the seed; a regime that does not cache features (e.g. full) shares nothing.
    static func cacheGroup(_ spec: ExperimentSpec, variant: Variant, seed: Int) -> String {
        guard spec.training.regime.declaration.cachesFeatures else { return "\(spec.name)|\(variant.rawValue)|\(seed)" }
        return spec.mainnet.weights == nil ? "\(spec.name)|seed\(seed)" : spec.name
    }

    static func unitOrder(_ a: RunUnit, _ b: RunUnit) -> Bool {
        if a.experiment != b.experiment { return a.experiment < b.experiment }
        if a.seed != b.seed { return a.seed < b.seed }
        return a.variant.rawValue < b.variant.rawValue
    }

    /// The units of every shard (index 0 holds shard 1). Each unit lands in exactly one shard.
    /// Cache groups stay whole while there are at least `count` of them; otherwise the largest
    /// pieces are halved until there are `count` pieces (or single units). Pieces then go,
    /// largest first, to the least-loaded shard (lowest index on ties).
    public static func partition(_ units: [RunUnit], count: Int) -> [[RunUnit]] {
        precondition(count >= 1, "partition into \(count) shards")
        var byGroup: [String: [RunUnit]] = [:]
        for u in units { byGroup[u.cacheGroup, default: []].append(u) }
        var pieces = byGroup.keys.sorted().map { byGroup[$0]!.sorted(by: unitOrder) }
        while pieces.count < count, let i = largestSplittable(pieces) {
            let piece = pieces[i]
            let half = (piece.count + 1) / 2
            pieces[i] = Array(piece[..<half])
            pieces.insert(Array(piece[half...]), at: i + 1)
        }
        let order = pieces.indices.sorted { a, b in
            pieces[a].count != pieces[b].count ? pieces[a].count > pieces[b].count : a < b
        }
        var shards = [[RunUnit]](repeating: [], count: count)
        for i in order {
            let target = shards.indices.min { a, b in
                shards[a].count != shards[b].count ? shards[a].count < shards[b].count : a < b
            }!
            shards[target] += pieces[i]
        }
        return shards.map { $0.sorted(by: unitOrder) }
    }

    private static func largestSplittable(_ pieces: [[RunUnit]]) -> Int? {
        var best: Int?
        for (i, p) in pieces.enumerated() where p.count > 1 {
            if best == nil || p.count > pieces[best!].count { best = i }
        }
        return best
    }

    /// The units of `shard`.
    public static func select(_ units: [RunUnit], shard: Shard) -> [RunUnit] {
        partition(units, count: shard.count)[shard.index - 1]
    }
}
