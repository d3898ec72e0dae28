import Foundation
import XCTest
import Models
import Runner
import Specs
import Store
import Tensors

/// The frozen-backbone feature cache of the `heads` regime: computed once per (weights, data,
/// attach point), reused by later seeds and variants and by a new Runner through the disk file.
final class RunnerFeatureCacheTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("cache") }
    override func tearDown() { scratch.cleanup() }

    /// Pool = CIFAR train + test images; eval batch 48 -> ceil(160 / 48) = 4 backbone batches.
    let evalBatch = 48
    var poolBatches: Int { (SharedData.cifarTrain + SharedData.cifarTest + evalBatch - 1) / evalBatch }

    /// Writes the tiny ResNet's backbone (torchvision keys, no fc.*) as safetensors.
    private func writeBackboneWeights() throws -> URL {
        var rng = SeededGenerator(seed: 1234)
        let config = ResNetConfig(block: .basic, blocks: [1, 1, 1, 1], width: 4, numClasses: 10)
        let backbone = ResNet(config: config, includeFC: false, rng: &rng)
        let url = scratch.dir.appendingPathComponent("weights/tiny-resnet-backbone.safetensors")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try saveCheckpoint(backbone, to: url)
        XCTAssertFalse(backbone.stateDict().keys.contains { $0.hasPrefix("fc.") })
        return url
    }

    private func cacheFiles() -> [String] {
        let dir = scratch.resultsDir.appendingPathComponent("cache")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".safetensors") }
    }

    func testHeadsRegimeComputesBackboneFeaturesOnce() throws {
        let weights = try writeBackboneWeights().path
        func spec(_ seeds: [Int], _ variants: [String]) throws -> ExperimentSpec {
            try TinySpecs.resnet(name: "t-cache-heads", seeds: seeds, variants: variants, regime: "heads",
                                 epochs: 2, weights: weights, evalBatch: evalBatch)
        }
        let seed0 = try spec([0], ["sidenet"])
        let seed1 = try spec([1], ["sidenet"])
        let baselines = try spec([0, 1], ["baseline"])
        XCTAssertEqual(seed0.specHash, seed1.specHash, "seeds and variants are not hashed")
        XCTAssertEqual(seed0.specHash, baselines.specHash)

        let store = try ResultStore(path: scratch.databasePath)
        let runner = Runner(store: store, options: testOptions(scratch))

        var out = try runner.run([seed0])
        XCTAssertEqual(out.map(\.status), [.finished], out.compactMap(\.reason).joined())
        XCTAssertEqual(runner.stats.featureCacheMisses, 1)
        XCTAssertEqual(runner.stats.featureCacheHits, 0)
        XCTAssertEqual(runner.stats.backboneFeatureBatches, poolBatches, "one pass over the pool in eval batches")
        XCTAssertEqual(cacheFiles().count, 1, "one feature file on disk: \(cacheFiles())")

        out = try runner.run([seed1])
        XCTAssertEqual(out.map(\.status), [.finished], out.compactMap(\.reason).joined())
        XCTAssertEqual(runner.stats.featureCacheMisses, 1, "a second seed with the same weights reuses the features")
        XCTAssertEqual(runner.stats.featureCacheHits, 1)
        XCTAssertEqual(runner.stats.backboneFeatureBatches, poolBatches, "no backbone pass for the second seed")

        out = try runner.run([baselines])
        XCTAssertEqual(out.map(\.status), [.finished, .finished], out.compactMap(\.reason).joined())
        XCTAssertEqual(runner.stats.featureCacheMisses, 1, "the baseline variant reuses the features")
        XCTAssertEqual(runner.stats.featureCacheHits, 3)
        XCTAssertEqual(runner.stats.backboneFeatureBatches, poolBatches, "no backbone pass for the baselines")
        XCTAssertEqual(cacheFiles().count, 1)

        let runs = try storedRuns(store, seed0)
        XCTAssertEqual(runs.count, 4)
        for r in runs {
            XCTAssertEqual(r.status, .finished, "\(r.variant) seed \(r.seed)")
            XCTAssertEqual(r.regime, "heads")
            XCTAssertEqual(try store.epochs(runId: r.id!).count, 2)
            XCTAssertEqual(try store.predictions(runId: r.id!).count, SharedData.cifarTest)
        }
        // Different seeds initialise different heads: the runs are not copies of each other.
        let s0 = try store.epochs(runId: findRun(runs, .sidenet, 0)!.id!)
        let s1 = try store.epochs(runId: findRun(runs, .sidenet, 1)!.id!)
        XCTAssertNotEqual(s0.first?.trainLossMain, s1.first?.trainLossMain, "seed 0 and seed 1 trained identically")

        // A new Runner (as in a new process) finds the features on disk.
        let otherStore = try ResultStore(path: scratch.dir.appendingPathComponent("other.sqlite").path)
        let fresh = Runner(store: otherStore, options: testOptions(scratch))
        out = try fresh.run([seed0])
        XCTAssertEqual(out.map(\.status), [.finished], out.compactMap(\.reason).joined())
        XCTAssertEqual(fresh.stats.featureCacheMisses, 0, "the on-disk cache must be hit")
        XCTAssertEqual(fresh.stats.featureCacheHits, 1)
        XCTAssertEqual(fresh.stats.backboneFeatureBatches, 0)
        // Same features, same seed: the same training as the first runner's seed-0 run.
        let freshRun = try XCTUnwrap(storedRuns(otherStore, seed0).first)
        let freshEpochs = try otherStore.epochs(runId: freshRun.id!)
        for (a, b) in zip(freshEpochs, s0) {
            let d = abs((a.valLossMain ?? .nan) - (b.valLossMain ?? .nan))
            XCTAssertLessThanOrEqual(d, 1e-6, "epoch \(a.epoch): val_loss_main from cached features differs by \(d) (tolerance 1e-6)")
        }
    }

    /// The cache file is mapped in place: one cut short (a disk filled up, a copy interrupted)
    /// must be rebuilt, never read past its end, and one with a damaged header likewise.
    func testTruncatedOrDamagedCacheFileIsRebuilt() throws {
        let weights = try writeBackboneWeights().path
        let spec = try TinySpecs.resnet(name: "t-cache-cut", seeds: [0], variants: ["sidenet"], regime: "heads",
                                        epochs: 1, weights: weights, evalBatch: evalBatch)
        let first = Runner(store: try ResultStore(path: scratch.databasePath), options: testOptions(scratch))
        XCTAssertEqual(try first.run([spec]).map(\.status), [.finished])
        XCTAssertEqual(first.stats.featureCacheMisses, 1)
        let file = scratch.resultsDir.appendingPathComponent("cache").appendingPathComponent(try XCTUnwrap(cacheFiles().first))
        let whole = try Data(contentsOf: file)
        for (name, damaged) in [("cut short", whole.prefix(whole.count - 100)),
                                ("header length damaged", Data([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]) + whole.dropFirst(8))] {
            try damaged.write(to: file)
            let store = try ResultStore(path: scratch.dir.appendingPathComponent("\(name).sqlite").path)
            let fresh = Runner(store: store, options: testOptions(scratch))
            let out = try fresh.run([spec])
            XCTAssertEqual(out.map(\.status), [.finished], "\(name): \(out.compactMap(\.reason).joined())")
            XCTAssertEqual(fresh.stats.featureCacheMisses, 1, "\(name): the file must be rebuilt")
            XCTAssertEqual(fresh.stats.backboneFeatureBatches, poolBatches, name)
            XCTAssertEqual(try Data(contentsOf: file), whole, "\(name): the rebuilt file is the original")
        }
    }

    /// With `weights: null` every seed has its own random backbone, so its features differ:
    /// the cache must not hand seed 0's features to seed 1.
    func testRandomInitBackboneFeaturesAreKeyedBySeed() throws {
        let spec = try TinySpecs.resnet(name: "t-cache-random", seeds: [0, 1], variants: ["sidenet"], regime: "heads",
                                        epochs: 1, evalBatch: evalBatch)
        let store = try ResultStore(path: scratch.databasePath)
        let runner = Runner(store: store, options: testOptions(scratch))
        let out = try runner.run([spec])
        XCTAssertEqual(out.map(\.status), [.finished, .finished], out.compactMap(\.reason).joined())
        XCTAssertEqual(runner.stats.featureCacheMisses, 2)
        XCTAssertEqual(runner.stats.backboneFeatureBatches, 2 * poolBatches)
        XCTAssertEqual(cacheFiles().count, 2, "\(cacheFiles())")
    }
}
