import Foundation
import XCTest
import Runner
import Specs
import Store
import WeightIO

/// `Runner.evaluate` loads what the checkpoint's metadata says it holds (its regime's declared
/// contents, its variant and seed), never what its tensor names suggest; a checkpoint without
/// that metadata, or with metadata that contradicts itself, is refused in one line.
final class RunnerEvaluateMetadataTests: XCTestCase {
    var scratch: Scratch!
    override func setUp() { scratch = Scratch("eval-meta") }
    override func tearDown() { scratch.cleanup() }

    /// Runs `spec` and returns its SideNet run's best checkpoint file.
    private func bestCheckpoint(_ spec: ExperimentSpec) throws -> (URL, [PredictionRow]) {
        let store = try ResultStore(path: scratch.databasePath)
        let outcomes = try Runner(store: store, options: testOptions(scratch)).run([spec])
        XCTAssertEqual(outcomes.map(\.status), [.finished], "\(outcomes.map(\.reason))")
        guard let run = findRun(try storedRuns(store, spec), .sidenet, 0), let id = run.id,
              let best = try store.checkpoint(runId: id, kind: .best) else { throw XCTSkip("no best checkpoint") }
        return (URL(fileURLWithPath: best.path), try store.predictions(runId: id))
    }

    /// A copy of `url` with the same tensors and `edit`ed metadata.
    private func relabelled(_ url: URL, _ name: String, _ edit: (inout [String: String]) -> Void) throws -> URL {
        let file = try SafeTensorsFile(contentsOf: url)
        var meta = file.metadata
        edit(&meta)
        let out = scratch.dir.appendingPathComponent(name)
        try SafeTensors.write(file.tensors, metadata: meta, to: out)
        return out
    }

    private func evaluate(_ spec: ExperimentSpec, _ url: URL) throws -> [EvaluatedExample] {
        try Runner.evaluate(spec: spec, checkpoint: url, split: "test", baseDir: SharedData.root)
    }

    private func assertRefused(_ spec: ExperimentSpec, _ url: URL, mentions words: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try evaluate(spec, url), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
            for w in words { XCTAssertTrue(text.contains(w), "'\(w)' in: \(text)", file: file, line: line) }
        }
    }

    /// A heads checkpoint is evaluated as heads whatever the spec's regime says: the same rows
    /// under a spec of regime full (whose own checkpoints would hold the backbone).
    func testHeadsCheckpointEvaluatedAsItsMetadataSaysUnderAFullSpec() throws {
        let heads = try TinySpecs.resnet(name: "t-meta-heads", variants: ["sidenet"], regime: "heads", epochs: 1)
        let (url, stored) = try bestCheckpoint(heads)
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).metadata["regime"], "heads")
        let full = try TinySpecs.resnet(name: "t-meta-heads", variants: ["sidenet"], regime: "full", epochs: 1)
        let rows = try evaluate(full, url)
        XCTAssertEqual(rows.map(\.mainPred), stored.map(\.mainPred))
        XCTAssertEqual(rows.map(\.sidePred), stored.map(\.sidePred))
        for (r, s) in zip(rows, stored) { XCTAssertEqual(r.mainConf, s.mainConf, accuracy: 1e-5) }
    }

    /// Metadata, not tensor names: a full checkpoint relabelled as regime heads is loaded as
    /// heads only, so strict loading names a backbone tensor it did not expect; relabelled as a
    /// baseline run it is evaluated without its SideNet.
    func testMetadataDecidesWhatIsLoaded() throws {
        let spec = try TinySpecs.resnet(name: "t-meta-full", variants: ["sidenet"], epochs: 1)
        let (url, stored) = try bestCheckpoint(spec)
        XCTAssertEqual(try evaluate(spec, url).map(\.mainPred), stored.map(\.mainPred))
        let asHeads = try relabelled(url, "as-heads.safetensors") { $0["regime"] = "heads"; $0["contents"] = "heads" }
        assertRefused(spec, asHeads, mentions: ["as-heads.safetensors", "unexpected key"])
        let asBaseline = try relabelled(url, "as-baseline.safetensors") { $0["variant"] = "baseline" }
        let rows = try evaluate(spec, asBaseline)
        XCTAssertTrue(rows.allSatisfy { $0.sidePred == nil && $0.sideLogits == nil }, "a baseline run has no SideNet")
        XCTAssertEqual(rows.map(\.mainPred), stored.map(\.mainPred))
    }

    func testCheckpointWithoutRunMetadataIsRefusedInOneLine() throws {
        let spec = try TinySpecs.resnet(name: "t-meta-none", variants: ["sidenet"], epochs: 1)
        let (url, _) = try bestCheckpoint(spec)
        let bare = try relabelled(url, "bare.safetensors") { $0 = [:] }
        assertRefused(spec, bare, mentions: ["bare.safetensors", "metadata", "'experiment' is missing"])
        let noRegime = try relabelled(url, "no-regime.safetensors") { $0["regime"] = nil }
        assertRefused(spec, noRegime, mentions: ["'regime' is missing"])
        let unknown = try relabelled(url, "unknown.safetensors") { $0["regime"] = "backbone-only" }
        assertRefused(spec, unknown, mentions: ["backbone-only", "heads, sidenet, full"])
        let contradiction = try relabelled(url, "contradiction.safetensors") { $0["contents"] = "heads" }
        assertRefused(spec, contradiction, mentions: ["contents 'heads'", "regime full"])
        let badSeed = try relabelled(url, "bad-seed.safetensors") { $0["seed"] = "zero" }
        assertRefused(spec, badSeed, mentions: ["'seed'", "zero"])
    }
}
