import Foundation
import XCTest
import Runner
import Specs
import Store

/// `--shard K/N`: the partition of (experiment, variant, seed) units.
final class ShardTests: XCTestCase {
    /// Seven paper-like experiments: frozen backbone with weights (one cache group each), five
    /// seeds, two variants = 70 units.
    func paperLike() throws -> [ExperimentSpec] {
        try (1...7).map { i in
            try TinySpecs.resnet(name: "exp\(i)", seeds: [0, 1, 2, 3, 4], regime: "heads", weights: "weights/w\(i).pth")
        }
    }

    func testParsingIsOneBasedAndRejectsNonsense() throws {
        XCTAssertEqual(try Shard(parsing: "2/4"), try Shard(index: 2, count: 4))
        XCTAssertEqual(try Shard(parsing: " 1 / 1 ").description, "1/1")
        for bad in ["0/4", "5/4", "1/0", "-1/3", "2", "a/b", "1/2/3", "", "/4"] {
            XCTAssertThrowsError(try Shard(parsing: bad), bad) { e in
                XCTAssertTrue("\(e)".contains("--shard"), "\(bad): \(e)")
            }
        }
    }

    func testEveryUnitExactlyOnceForEveryShardCount() throws {
        let specs = try paperLike() + [try TinySpecs.bert(name: "text", seeds: [0, 1, 2])]
        let units = ShardPlan.units(specs)
        XCTAssertEqual(units.count, 70 + 6)
        XCTAssertEqual(Set(units).count, units.count)
        for n in [1, 2, 3, 7, 8, 13, 70, 76, 100] {
            let shards = ShardPlan.partition(units, count: n)
            XCTAssertEqual(shards.count, n)
            let all = shards.flatMap { $0 }
            XCTAssertEqual(all.count, units.count, "n=\(n)")
            XCTAssertEqual(Set(all), Set(units), "n=\(n)")
            // select(K) is the K-th share
            for k in 1...n {
                XCTAssertEqual(ShardPlan.select(units, shard: try Shard(index: k, count: n)), shards[k - 1])
            }
            // no shard idles while another holds several pieces
            if n <= units.count { XCTAssertFalse(shards.contains { $0.isEmpty }, "n=\(n): an empty shard") }
        }
    }

    func testDeterministicAndIndependentOfSpecOrderAndDatabase() throws {
        let specs = try paperLike()
        let a = ShardPlan.partition(ShardPlan.units(specs), count: 4)
        let b = ShardPlan.partition(ShardPlan.units(specs.reversed()), count: 4)
        let c = ShardPlan.partition(ShardPlan.units(specs.shuffled()), count: 4)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a, c)
    }

    func testCacheGroupsStayTogetherWhileTheCountAllows() throws {
        let specs = try paperLike()
        let units = ShardPlan.units(specs)
        for n in [2, 3, 4, 7] {
            for shard in ShardPlan.partition(units, count: n) {
                for exp in Set(shard.map(\.experiment)) {
                    XCTAssertEqual(shard.filter { $0.experiment == exp }.count, 10,
                                   "n=\(n): \(exp) is split although there are \(specs.count) groups")
                }
            }
        }
        // 14 shards for 7 groups: each group split in two halves, no shard empty
        let fourteen = ShardPlan.partition(units, count: 14)
        XCTAssertEqual(fourteen.map(\.count), Array(repeating: 5, count: 14))
        for shard in fourteen { XCTAssertEqual(Set(shard.map(\.experiment)).count, 1) }
    }

    func testRandomInitFrozenBackboneGroupsBySeedAndFullRegimeSpreads() throws {
        // random-init backbone: the cache key holds the seed, so the group is (experiment, seed)
        let heads = ShardPlan.units([try TinySpecs.resnet(name: "r", seeds: [0, 1], regime: "heads")])
        XCTAssertEqual(Set(heads.map(\.cacheGroup)).count, 2)
        for shard in ShardPlan.partition(heads, count: 2) {
            XCTAssertEqual(shard.count, 2)
            XCTAssertEqual(Set(shard.map(\.seed)).count, 1, "both variants of a seed share its cache")
        }
        // full regime: no cache, every unit its own group
        let full = ShardPlan.units([try TinySpecs.resnet(name: "f", seeds: [0, 1], regime: "full")])
        XCTAssertEqual(ShardPlan.partition(full, count: 4).map(\.count), [1, 1, 1, 1])
    }

    func testFiltersApplyBeforePartition() throws {
        let units = ShardPlan.units(try paperLike(), seeds: [0, 1], variants: [.sidenet])
        XCTAssertEqual(units.count, 14)
        XCTAssertTrue(units.allSatisfy { $0.variant == .sidenet && $0.seed < 2 })
    }

    /// Two shards run into two databases: together they hold every run once.
    func testRunnerRunsOnlyItsShard() throws {
        let scratch = Scratch("shard")
        defer { scratch.cleanup() }
        let spec = try TinySpecs.resnet(name: "sharded", seeds: [0, 1], epochs: 1)
        var seen: [String] = []
        for k in 1...2 {
            let store = try ResultStore(path: scratch.dir.appendingPathComponent("s\(k).sqlite").path)
            var options = testOptions(scratch)
            options.shard = try Shard(index: k, count: 2)
            let outcomes = try Runner(store: store, options: options).run([spec])
            XCTAssertEqual(outcomes.count, 2)
            XCTAssertTrue(outcomes.allSatisfy { $0.status == .finished })
            let runs = try storedRuns(store, spec)
            XCTAssertEqual(runs.count, 2)
            seen += runs.map { "\($0.variant.rawValue)-\($0.seed)" }
        }
        XCTAssertEqual(seen.sorted(), ["baseline-0", "baseline-1", "sidenet-0", "sidenet-1"])
    }
}
