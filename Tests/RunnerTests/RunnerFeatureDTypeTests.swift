import Foundation
import XCTest
import Models
import Runner
import Specs
import Store
import Tensors
import WeightIO

/// The Float16 feature cache (`training.feature_cache: {dtype: float16}`) and chunked
/// evaluation on cached features.
final class RunnerFeatureDTypeTests: XCTestCase {
    var scratch: Scratch!

    override func setUp() { scratch = Scratch("fdtype") }
    override func tearDown() {
        FeatureEvaluation.chunkBytes = 128 << 20
        scratch.cleanup()
    }

    // MARK: half precision

    func testHalfDecodeIsExactForEveryBitPattern() {
        for h in 0...UInt16.max {
            let got = HalfPrecision.float(h)
            let want = Float(Float16(bitPattern: h))
            if want.isNaN {
                XCTAssertTrue(got.isNaN, "pattern \(h)")
            } else {
                XCTAssertEqual(got.bitPattern, want.bitPattern, "pattern \(String(h, radix: 16)): \(got) vs \(want)")
            }
            // every finite half survives the round trip unchanged
            if !want.isNaN { XCTAssertEqual(HalfPrecision.bits(want), h, "round trip of \(want)") }
        }
    }

    func testHalfEncodeRoundsToNearestEven() {
        var rng = SeededGenerator(seed: 5)
        var values: [Float] = [0, -0, 1, -1, 65504, 65520, 65519.99, -65536, 1e-8, 2.9802322e-8, 2.9802326e-8, 5.96e-8,
                               6.1035156e-5, 6.1e-5, .infinity, -.infinity, 1 + 1.0 / 2048, 1 + 3.0 / 2048]
        for _ in 0..<200_000 {
            // log-uniform magnitudes over the whole half range and beyond, both signs
            let e = Float.random(in: -30...18, using: &rng)
            values.append((Bool.random(using: &rng) ? 1 : -1) * Float(pow(2.0, Double(e))))
        }
        for x in values {
            let h = HalfPrecision.bits(x)
            XCTAssertEqual(h, Float16(x).bitPattern, "\(x) (\(String(x.bitPattern, radix: 16)))")
            // error bound of round-to-nearest: half an ulp (2^-11 relative for normals, 2^-25 below)
            let back = HalfPrecision.float(h)
            if abs(x) <= 65504 {
                XCTAssertLessThanOrEqual(abs(back - x), max(abs(x) * 0x1p-11, 0x1p-25), "\(x) -> \(back)")
            }
        }
        XCTAssertTrue(HalfPrecision.float(HalfPrecision.bits(.nan)).isNaN)
    }

    /// `encode` (the CPU's F16C conversion where it has one, 8 values at a time) gives the bits of
    /// the integer rule `bits` for every value that rounds across a half boundary: each finite
    /// half's upper midpoint and its two Float32 neighbours (ties to even both ways), both signs,
    /// then infinities, NaN, Float32 subnormals and a tail shorter than 8.
    func testArrayEncodeEqualsTheScalarRoundingRule() {
        var values: [Float] = [.infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNormalMagnitude, 0, -0]
        for h in UInt16(0)..<0x7c00 {
            let lo = Double(Float(Float16(bitPattern: h))), hi = Double(Float(Float16(bitPattern: h + 1)))
            let mid = Float((lo + hi) / 2)  // exact in Float32
            for v in [mid.nextDown, mid, mid.nextUp] { values += [v, -v] }
        }
        values += [1, 2, 3]   // a tail of 3 after the last full group of 8
        let n = values.count
        var got = [UInt16](repeating: 0, count: n)
        values.withUnsafeBufferPointer { s in got.withUnsafeMutableBufferPointer { HalfPrecision.encode(s.baseAddress!, $0.baseAddress!, count: n) } }
        var mismatches = 0
        for (x, h) in zip(values, got) where h != HalfPrecision.bits(x) && !(x.isNaN && (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) {
            mismatches += 1
            if mismatches <= 5 { XCTFail("\(x) (\(String(x.bitPattern, radix: 16))): \(String(h, radix: 16)) vs \(String(HalfPrecision.bits(x), radix: 16))") }
        }
        XCTAssertEqual(mismatches, 0, "of \(n) values")
    }

    // MARK: spec field

    private func yaml(featureCache: String) -> String {
        """
        name: t-fc
        seeds: [0]
        variants: [sidenet]
        data: {dataset: cifar10, path: cifar, synthetic: true, validation: 20}
        mainnet:
          arch: resnet
          config: {blocks: [1, 1, 1, 1], width: 4, block: basic}
          weights: null
        sidenet: {attach: layer1, hidden: 8}
        training:
          regime: heads
          optimizer: {name: adam, lr: 1.0e-3}
          epochs: 1
          batch_size: 16
          feature_cache: \(featureCache)
        """
    }

    func testFeatureCacheFieldParsesAndRejectsUnknownDTypes() throws {
        let half = try ExperimentSpec.parse(yaml: yaml(featureCache: "{dtype: float16}"), file: "t.yaml")
        XCTAssertEqual(half.training.featureCacheDType, .float16)
        let full = try ExperimentSpec.parse(yaml: yaml(featureCache: "{dtype: float32}"), file: "t.yaml")
        XCTAssertEqual(full.training.featureCacheDType, .float32)
        XCTAssertNil(full.training.featureCache, "float32 is the default: not written to the canonical spec")
        XCTAssertEqual(try ExperimentSpec.fromJSON(half.canonicalJSON()).training.featureCacheDType, .float16)
        for bad in ["{dtype: float8}", "{dtype: float16, rows: 3}", "float16"] {
            XCTAssertThrowsError(try ExperimentSpec.parse(yaml: yaml(featureCache: bad), file: "t.yaml"), bad) { error in
                XCTAssertTrue("\(error)".contains("feature_cache"), "\(bad): \(error)")
            }
        }
    }

    // MARK: runs

    private func writeBackboneWeights() throws -> String {
        var rng = SeededGenerator(seed: 99)
        let config = ResNetConfig(block: .basic, blocks: [1, 1, 1, 1], width: 4, numClasses: 10)
        let backbone = ResNet(config: config, includeFC: false, rng: &rng)
        let url = scratch.dir.appendingPathComponent("weights/tiny-backbone.safetensors")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try saveCheckpoint(backbone, to: url)
        return url.path
    }

    private func cacheFiles() -> [URL] {
        let dir = scratch.resultsDir.appendingPathComponent("cache")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix(".safetensors") }.map { dir.appendingPathComponent($0) }
    }

    func testFloat16CacheStoresRoundedFeaturesAndTrains() throws {
        let weights = try writeBackboneWeights()
        let f32 = try TinySpecs.resnet(name: "t-f16", seeds: [0], variants: ["sidenet"], regime: "heads", epochs: 2,
                                       weights: weights, evalBatch: 48)
        var f16 = f32
        f16.training.featureCache = FeatureCacheSpec(dtype: .float16)
        var explicit32 = f32
        explicit32.training = TrainingSpec(regime: f32.training.regime, optimizer: f32.training.optimizer,
                                           epochs: f32.training.epochs, batchSize: f32.training.batchSize,
                                           plateau: f32.training.plateau, alpha: f32.training.alpha,
                                           featureCache: FeatureCacheSpec(dtype: .float32))
        XCTAssertEqual(explicit32.specHash, f32.specHash, "float32 is the default: same results, same hash")
        XCTAssertNotEqual(f16.specHash, f32.specHash, "float16 features change results: another hash")
        XCTAssertTrue(f16.canonicalJSON().contains("\"feature_cache\""))
        XCTAssertFalse(f32.canonicalJSON().contains("feature_cache"))

        let store = try ResultStore(path: scratch.databasePath)
        let runner = Runner(store: store, options: testOptions(scratch))
        var out = try runner.run([f32])
        XCTAssertEqual(out.map(\.status), [.finished], out.compactMap(\.reason).joined())
        let file32 = try XCTUnwrap(cacheFiles().first)
        out = try runner.run([f16])
        XCTAssertEqual(out.map(\.status), [.finished], out.compactMap(\.reason).joined())
        XCTAssertEqual(runner.stats.featureCacheMisses, 2, "float16 features are cached under their own key")
        let file16 = try XCTUnwrap(cacheFiles().first { $0 != file32 })

        // The float16 file holds exactly the float32 features rounded to nearest-even, in half the bytes.
        let t32 = try SafeTensorsFile(contentsOf: file32).tensors, t16 = try SafeTensorsFile(contentsOf: file16).tensors
        for name in ["attach", "head"] {
            let a = try XCTUnwrap(t32[name]), b = try XCTUnwrap(t16[name])
            XCTAssertEqual(a.dtype, .F32)
            XCTAssertEqual(b.dtype, .F16)
            XCTAssertEqual(a.shape, b.shape)
            XCTAssertEqual(b.bytes.count * 2, a.bytes.count, "\(name): float16 halves the bytes")
            let x = try a.floats(), y = try b.floats()
            var mismatches = 0
            for i in x.indices where HalfPrecision.float(HalfPrecision.bits(x[i])) != y[i] { mismatches += 1 }
            XCTAssertEqual(mismatches, 0, "\(name): \(mismatches) of \(x.count) values are not the rounded float32 features")
            XCTAssertTrue(zip(x, y).contains { $0 != $1 }, "\(name): rounding changed nothing: not a float16 cache?")
        }

        // Both runs train, on nearly the same features.
        let r32 = try XCTUnwrap(storedRuns(store, f32).first), r16 = try XCTUnwrap(storedRuns(store, f16).first)
        let e32 = try store.epochs(runId: r32.id!), e16 = try store.epochs(runId: r16.id!)
        XCTAssertEqual(e16.count, 2)
        for (a, b) in zip(e32, e16) {
            let d = abs((a.valLossSide ?? .nan) - (b.valLossSide ?? .nan))
            XCTAssertLessThan(d, 1e-2, "epoch \(a.epoch): SideNet val loss on float16 features differs by \(d)")
        }
        XCTAssertEqual(try store.predictions(runId: r16.id!).count, SharedData.cifarTest)

        // A new runner reads the float16 file back (no backbone pass) and trains the same run again.
        let other = try ResultStore(path: scratch.dir.appendingPathComponent("other.sqlite").path)
        let fresh = Runner(store: other, options: testOptions(scratch))
        out = try fresh.run([f16])
        XCTAssertEqual(out.map(\.status), [.finished], out.compactMap(\.reason).joined())
        XCTAssertEqual(fresh.stats.backboneFeatureBatches, 0)
        XCTAssertEqual(fresh.stats.featureCacheHits, 1)
        let again = try other.predictions(runId: try XCTUnwrap(storedRuns(other, f16).first).id!)
        XCTAssertEqual(again.map(\.mainLogits), try store.predictions(runId: r16.id!).map(\.mainLogits))
    }

    /// Validation and test over cached features in large chunks give exactly what one
    /// evaluation batch at a time gives: epochs, test and validation predictions.
    func testChunkedEvaluationEqualsBatchByBatch() throws {
        let weights = try writeBackboneWeights()
        let spec = try TinySpecs.resnet(name: "t-chunks", seeds: [0], variants: ["sidenet", "baseline"], regime: "heads",
                                        epochs: 3, weights: weights, evalBatch: 6)
        func run(chunkBytes: Int, db: String) throws -> (ResultStore, [RunRow]) {
            FeatureEvaluation.chunkBytes = chunkBytes
            let store = try ResultStore(path: scratch.dir.appendingPathComponent(db).path)
            let out = try Runner(store: store, options: testOptions(scratch)).run([spec])
            XCTAssertEqual(out.map(\.status), [.finished, .finished], out.compactMap(\.reason).joined())
            return (store, try storedRuns(store, spec))
        }
        let (s1, batchByBatch) = try run(chunkBytes: 0, db: "one-batch.sqlite")
        let (s2, chunked) = try run(chunkBytes: 128 << 20, db: "chunked.sqlite")
        XCTAssertEqual(batchByBatch.count, 2)
        for a in batchByBatch {
            let b = try XCTUnwrap(findRun(chunked, a.variant, a.seed))
            XCTAssertEqual(a.testAccMain, b.testAccMain)
            XCTAssertEqual(a.testAccSide, b.testAccSide)
            XCTAssertEqual(a.bestEpoch, b.bestEpoch)
            let ea = try s1.epochs(runId: a.id!), eb = try s2.epochs(runId: b.id!)
            XCTAssertEqual(ea.count, 3)
            for (x, y) in zip(ea, eb) {
                XCTAssertEqual(x.valLossMain, y.valLossMain, "epoch \(x.epoch)")
                XCTAssertEqual(x.valLossSide, y.valLossSide, "epoch \(x.epoch)")
                XCTAssertEqual(x.valAccMain, y.valAccMain)
                XCTAssertEqual(x.valAccSide, y.valAccSide)
                XCTAssertEqual(x.trainLossMain, y.trainLossMain)
                XCTAssertEqual(x.lr, y.lr)
            }
            func strip(_ rows: [PredictionRow]) -> [PredictionRow] { rows.map { var r = $0; r.runId = 0; return r } }
            XCTAssertEqual(strip(try s1.predictions(runId: a.id!)), strip(try s2.predictions(runId: b.id!)))
            let va = strip(try s1.validationPredictions(runId: a.id!))
            XCTAssertEqual(va.count, 20)
            XCTAssertEqual(va, strip(try s2.validationPredictions(runId: b.id!)))
        }
    }
}
