import Foundation
import XCTest
import Store

/// `ResultStore.merge`: shard databases into one.
final class MergeTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func summary(acc: Double = 0.9) -> RunSummary {
        RunSummary(numClasses: 2, paramsPrefix: 10, paramsSidenet: 5, paramsMainnet: 50, flopsPrefix: 100,
                   flopsSidenet: 10, flopsMainnet: 500, bestEpoch: 2, testAccMain: acc, testAccSide: 0.8)
    }

    /// Writes one run of experiment `name` (hash `hash`): `epochs` committed epochs with
    /// checkpoints, finished with predictions when `finish`.
    @discardableResult
    func addRun(_ store: ResultStore, name: String = "exp", hash: String = "h1", variant: RunVariant = .sidenet,
                seed: Int = 0, epochs: Int = 2, finish: Bool = true, acc: Double = 0.9,
                firstLabel: Int = 0) throws -> Int64 {
        let exp = try store.registerExperiment(name: name, specJSON: "{\"name\":\"\(name)\"}", specHash: hash)
        guard case .claimed(let run, _) = try store.claimRun(experimentId: exp, variant: variant, seed: seed, host: "node",
                                                             threads: 1, gitCommit: nil, regime: "heads") else {
            XCTFail("claim"); return -1
        }
        for e in 0..<epochs {
            let row = EpochRow(runId: run, epoch: e + 1, trainLossMain: 1, trainLossSide: 1, valLossMain: 0.5,
                               valLossSide: 0.5, valAccMain: 0.7, valAccSide: 0.6, lr: 1e-3, seconds: 1)
            try store.commitEpoch(runId: run, epoch: row, checkpointPath: "/ckpt/\(name)-\(variant)-\(seed)-e\(e + 1)",
                                  bestCheckpointPath: "/ckpt/\(name)-best")
        }
        if finish {
            let preds = (0..<3).map { i in
                PredictionRow(runId: run, idx: i, label: i == 0 ? firstLabel : i % 2, sidePred: 1, sideConf: 0.7,
                              mainPred: 1, mainConf: 0.9, sideLogits: [0.1, 0.9], mainLogits: [0.2, 0.8])
            }
            try store.finishRun(runId: run, predictions: preds, summary: summary(acc: acc))
        } else {
            try store.markInterrupted(runId: run)
        }
        return run
    }

    /// (experiment, variant, seed, status, epochs, predictions, checkpoints) of every run.
    func content(_ store: ResultStore) throws -> [String] {
        var out: [String] = []
        for e in try store.experiments() {
            for r in try store.runs(experiment: e.id!) {
                let ck = [try store.checkpoint(runId: r.id!, kind: .last), try store.checkpoint(runId: r.id!, kind: .best)]
                    .compactMap { $0.map { "\($0.kind.rawValue)@\($0.epoch):\($0.path)" } }
                out.append("\(e.name)/\(e.specHash) \(r.variant.rawValue) \(r.seed) \(r.status.rawValue) "
                           + "acc=\(r.testAccMain.map { "\($0)" } ?? "-") epochs=\(try store.epochs(runId: r.id!).count) "
                           + "preds=\(try store.predictions(runId: r.id!).count) \(ck.joined(separator: ","))")
            }
        }
        return out.sorted()
    }

    func testMergesShardsAndIsIdempotent() throws {
        let a = try ResultStore(path: path("a.sqlite")), b = try ResultStore(path: path("b.sqlite"))
        try addRun(a, seed: 0)
        try addRun(a, variant: .baseline, seed: 0)
        try addRun(b, seed: 1)
        try addRun(b, name: "other", hash: "h9", seed: 0, finish: false)
        let dest = try ResultStore(path: path("merged/all.sqlite"))
        let first = try dest.merge(sources: [a.path, b.path])
        XCTAssertEqual(first.sources.map(\.experimentsAdded), [1, 1])
        XCTAssertEqual(first.sources.map(\.runsAdded), [2, 2])
        XCTAssertEqual(first.sources[1].changes, ["+ exp sidenet seed 1 (finished)", "+ other sidenet seed 0 (interrupted)"])
        let expected = (try content(a) + content(b)).sorted()
        XCTAssertEqual(try content(dest), expected)
        XCTAssertEqual(try dest.experiments().count, 2, "exp from both shards is one experiment")
        // checkpoint paths stay as recorded, predictions copied byte for byte
        let run = try dest.runs(experiment: dest.experiments(named: "exp")[0].id!).first { $0.seed == 1 }!
        XCTAssertEqual(try dest.lastCheckpoint(runId: run.id!)?.path, "/ckpt/exp-sidenet-1-e2")
        XCTAssertEqual(try dest.predictions(runId: run.id!).map { try $0.mainLogitValues() }, Array(repeating: [0.2, 0.8], count: 3))

        let second = try dest.merge(sources: [a.path, b.path])
        XCTAssertTrue(second.isNoOp)
        XCTAssertEqual(second.sources.map(\.runsUnchanged), [2, 2])
        XCTAssertEqual(try content(dest), expected)
        XCTAssertEqual(try dest.integrityCheck(), ["ok"])
    }

    func testFinishedCopyWinsOverUnfinished() throws {
        let unfinished = try ResultStore(path: path("u.sqlite")), finished = try ResultStore(path: path("f.sqlite"))
        try addRun(unfinished, epochs: 1, finish: false)
        try addRun(finished, epochs: 3, finish: true)
        // unfinished first, then the finished copy replaces it
        let d1 = try ResultStore(path: path("d1.sqlite"))
        let r = try d1.merge(sources: [unfinished.path, finished.path])
        XCTAssertEqual(r.sources[1].runsReplaced, 1)
        XCTAssertEqual(try content(d1), try content(finished))
        // finished first: the unfinished copy does not overwrite it
        let d2 = try ResultStore(path: path("d2.sqlite"))
        _ = try d2.merge(sources: [finished.path, unfinished.path])
        XCTAssertEqual(try content(d2), try content(finished))
    }

    func testDifferentFinishedCopiesAreRefusedNamingBothAndNothingIsWritten() throws {
        let a = try ResultStore(path: path("shard-1.sqlite")), b = try ResultStore(path: path("shard-2.sqlite"))
        try addRun(a, seed: 5)
        try addRun(a, name: "fine", hash: "h2")
        try addRun(b, seed: 5, acc: 0.91)
        let dest = try ResultStore(path: path("dest.sqlite"))
        XCTAssertThrowsError(try dest.merge(sources: [a.path, b.path])) { e in
            guard case MergeError.conflict(let run, let first, let second, let detail) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(run, "exp sidenet seed 5")
            XCTAssertEqual(first, a.path)
            XCTAssertEqual(second, b.path)
            XCTAssertTrue(detail.contains("test_acc_main"), detail)
            XCTAssertTrue("\(e)".contains("shard-1.sqlite") && "\(e)".contains("shard-2.sqlite"), "\(e)")
        }
        XCTAssertEqual(try dest.experiments(), [], "one transaction: the refused merge leaves nothing")
        // same summary, different predictions: refused too
        let c = try ResultStore(path: path("shard-3.sqlite"))
        try addRun(c, seed: 5, firstLabel: 1)
        XCTAssertThrowsError(try dest.merge(sources: [a.path, c.path])) { e in
            XCTAssertTrue("\(e)".contains("prediction 0"), "\(e)")
        }
        // a finished copy already in the destination is named as the destination
        _ = try dest.merge(sources: [a.path])
        XCTAssertThrowsError(try dest.merge(sources: [b.path])) { e in
            XCTAssertTrue("\(e)".contains("(the destination)") && "\(e)".contains("shard-2.sqlite"), "\(e)")
        }
    }

    func testUnfinishedCopyWithMoreEpochsWins() throws {
        let short = try ResultStore(path: path("s.sqlite")), long = try ResultStore(path: path("l.sqlite"))
        try addRun(short, epochs: 1, finish: false)
        try addRun(long, epochs: 3, finish: false)
        let dest = try ResultStore(path: path("d.sqlite"))
        _ = try dest.merge(sources: [long.path, short.path])
        XCTAssertEqual(try content(dest), try content(long))
        _ = try dest.merge(sources: [short.path])
        XCTAssertEqual(try content(dest), try content(long))
    }

    func testBadSourcesAreRefused() throws {
        let dest = try ResultStore(path: path("d.sqlite"))
        XCTAssertThrowsError(try dest.merge(sources: [path("missing.sqlite")])) { e in
            XCTAssertEqual(e as? MergeError, .sourceMissing(path("missing.sqlite")))
        }
        XCTAssertThrowsError(try dest.merge(sources: [dest.path])) { e in
            XCTAssertEqual(e as? MergeError, .sameAsDestination(dest.path))
        }
        try "not a database at all, just text".write(toFile: path("junk.sqlite"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try dest.merge(sources: [path("junk.sqlite")])) { e in
            XCTAssertTrue("\(e)".contains("junk.sqlite") && "\(e)".contains("not a sidenet results database"), "\(e)")
        }
    }
}
