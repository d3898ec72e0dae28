import Foundation
import XCTest
import Runner
import Specs
import Store
import WeightIO

/// Results of a given spec and seed do not change when the runner's code is reorganised: tiny
/// runs of every regime (ResNet full/heads/sidenet, BERT full/heads) are compared with values
/// recorded by an earlier commit (`Tests/Fixtures/runner/run-pins.json`, see the README there):
/// every epoch row, every stored test and validation prediction (logits included) and the best
/// checkpoint (its tensor names, per-tensor sums, metadata). Tolerance 1e-5 (relative to the
/// value, at least 1e-5 absolute) so that another CPU's BLAS kernels pass; the max difference is
/// printed (0 on the recording machine when nothing changed).
final class RunnerPinnedResultsTests: XCTestCase {
    struct Row: Codable {
        var label: Int, mainPred: Int, mainConf: Double
        var sidePred: Int?, sideConf: Double?
        var mainLogits: [Float]
        var sideLogits: [Float]?
    }
    struct Epoch: Codable {
        var trainLossMain: Double?, trainLossSide: Double?, valLossMain: Double?, valLossSide: Double?
        var valAccMain: Double?, valAccSide: Double?
        var lr: Double
    }
    struct Pin: Codable {
        var epochs: [Epoch]
        var test: [Row]
        var validation: [Row]
        var bestEpoch: Int?
        /// Tensor name -> [sum, sum of squares] of the best checkpoint's values.
        var checkpointSums: [String: [Double]]
        /// The best checkpoint's metadata without file paths and the spec hash (paths vary).
        var checkpointMetadata: [String: String]
    }

    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/runner/run-pins.json")

    var scratch: Scratch!
    override func setUp() { scratch = Scratch("pins") }
    override func tearDown() { scratch.cleanup() }

    private func row(_ p: PredictionRow) throws -> Row {
        Row(label: p.label, mainPred: p.mainPred, mainConf: p.mainConf, sidePred: p.sidePred, sideConf: p.sideConf,
            mainLogits: try p.mainLogitValues(), sideLogits: try p.sideLogitValues())
    }

    private func pins(_ store: ResultStore, _ spec: ExperimentSpec) throws -> [String: Pin] {
        var out: [String: Pin] = [:]
        for run in try storedRuns(store, spec) {
            guard let id = run.id, run.status == .finished else { XCTFail("\(spec.name): run not finished"); continue }
            var sums: [String: [Double]] = [:], meta: [String: String] = [:]
            if let best = try store.checkpoint(runId: id, kind: .best) {
                let file = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: best.path))
                for (k, t) in file.tensors {
                    let v = t.dtype == .I64 ? try t.int64s().map(Double.init) : try t.floats().map(Double.init)
                    sums[k] = [v.reduce(0, +), v.reduce(0) { $0 + $1 * $1 }]
                }
                meta = file.metadata.filter { $0.key != "best_path" && $0.key != "spec_hash" }
                if let p = meta["plateau"], let obj = try? JSONSerialization.jsonObject(with: Data(p.utf8)),
                   let sorted = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) {
                    meta["plateau"] = String(decoding: sorted, as: UTF8.self)  // its key order varies between processes
                }
            }
            let epochs = try store.epochs(runId: id).map {
                Epoch(trainLossMain: $0.trainLossMain, trainLossSide: $0.trainLossSide, valLossMain: $0.valLossMain,
                      valLossSide: $0.valLossSide, valAccMain: $0.valAccMain, valAccSide: $0.valAccSide, lr: $0.lr)
            }
            out["\(spec.name)/\(run.variant.rawValue)"] = Pin(
                epochs: epochs, test: try store.predictions(runId: id).map(row),
                validation: try store.validationPredictions(runId: id).map(row), bestEpoch: run.bestEpoch,
                checkpointSums: sums, checkpointMetadata: meta)
        }
        return out
    }

    /// Runs every pinned spec in one store and returns the pins of every run.
    private func currentPins() throws -> [String: Pin] {
        let store = try ResultStore(path: scratch.databasePath)
        let options = testOptions(scratch)
        let full = try TinySpecs.resnet(name: "pin-resnet-full", variants: ["sidenet", "baseline"], epochs: 2)
        let heads = try TinySpecs.resnet(name: "pin-resnet-heads", variants: ["sidenet", "baseline"], regime: "heads", epochs: 2)
        let bertFull = try TinySpecs.bert(name: "pin-bert-full", variants: ["sidenet"], regime: "full", epochs: 2)
        let bertHeads = try TinySpecs.bert(name: "pin-bert-heads", variants: ["sidenet", "baseline"], regime: "heads", epochs: 2)
        let first = try Runner(store: store, options: options).run([full, heads, bertFull, bertHeads])
        XCTAssertEqual(first.map(\.status), Array(repeating: .finished, count: 7), "\(first.map(\.reason))")
        guard let source = findRun(try storedRuns(store, full), .sidenet, 0), let sid = source.id,
              let best = try store.checkpoint(runId: sid, kind: .best) else { throw XCTSkip("no full-regime checkpoint") }
        // regime sidenet on the full run's best checkpoint (backbone and head as loaded)
        let side = try TinySpecs.resnet(name: "pin-resnet-sidenet", variants: ["sidenet"], regime: "sidenet", epochs: 2,
                                        weights: best.path)
        let second = try Runner(store: store, options: options).run([side])
        XCTAssertEqual(second.map(\.status), [.finished], "\(second.map(\.reason))")
        var out: [String: Pin] = [:]
        for spec in [full, heads, bertFull, bertHeads, side] { out.merge(try pins(store, spec)) { a, _ in a } }
        return out
    }

    func testResultsEqualThoseRecordedBeforeTheRunnerSplit() throws {
        let now = try currentPins()
        if ProcessInfo.processInfo.environment["SIDENET_RECORD_RUN_PINS"] == "1" {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            try enc.encode(now).write(to: Self.fixture)
            print("recorded \(now.count) runs in \(Self.fixture.path)")
            return
        }
        let recorded = try JSONDecoder().decode([String: Pin].self, from: Data(contentsOf: Self.fixture))
        XCTAssertEqual(Set(now.keys), Set(recorded.keys))
        var worst = 0.0, reported = 0
        func close(_ a: Double?, _ b: Double?, _ what: @autoclosure () -> String) {
            guard let a, let b else { return XCTAssertEqual(a == nil, b == nil, what()) }
            let d = abs(a - b)
            worst = max(worst, d / max(1, abs(b)))
            guard d > 1e-5 * max(1, abs(b)) else { return }
            reported += 1
            if reported <= 20 { XCTFail("\(what()): now \(a), recorded \(b)") }  // the first 20; the max is below
        }
        func rows(_ a: [Row], _ b: [Row], _ tag: String) {
            XCTAssertEqual(a.count, b.count, tag)
            for (i, (x, y)) in zip(a, b).enumerated() {
                XCTAssertEqual(x.label, y.label, "\(tag) row \(i) label")
                let sortedMain = y.mainLogits.sorted(by: >)
                if sortedMain.count < 2 || sortedMain[0] - sortedMain[1] > 1e-4 {
                    XCTAssertEqual(x.mainPred, y.mainPred, "\(tag) row \(i) main_pred")
                }
                close(x.mainConf, y.mainConf, "\(tag) row \(i) main_conf")
                XCTAssertEqual(x.sidePred == nil, y.sidePred == nil, "\(tag) row \(i) side_pred")
                close(x.sideConf, y.sideConf, "\(tag) row \(i) side_conf")
                XCTAssertEqual(x.mainLogits.count, y.mainLogits.count, "\(tag) row \(i)")
                for (u, v) in zip(x.mainLogits, y.mainLogits) { close(Double(u), Double(v), "\(tag) row \(i) main logit") }
                XCTAssertEqual(x.sideLogits?.count, y.sideLogits?.count, "\(tag) row \(i)")
                for (u, v) in zip(x.sideLogits ?? [], y.sideLogits ?? []) { close(Double(u), Double(v), "\(tag) row \(i) side logit") }
            }
        }
        for key in recorded.keys.sorted() {
            guard let a = now[key], let b = recorded[key] else { continue }
            XCTAssertEqual(a.bestEpoch, b.bestEpoch, "\(key) best epoch")
            XCTAssertEqual(a.epochs.count, b.epochs.count, "\(key) epochs")
            for (e, (x, y)) in zip(a.epochs, b.epochs).enumerated() {
                for (name, u, v) in [("train_loss_main", x.trainLossMain, y.trainLossMain), ("train_loss_side", x.trainLossSide, y.trainLossSide),
                                     ("val_loss_main", x.valLossMain, y.valLossMain), ("val_loss_side", x.valLossSide, y.valLossSide),
                                     ("val_acc_main", x.valAccMain, y.valAccMain), ("val_acc_side", x.valAccSide, y.valAccSide),
                                     ("lr", x.lr, y.lr)] {
                    close(u, v, "\(key) epoch \(e + 1) \(name)")
                }
            }
            rows(a.test, b.test, "\(key) test")
            rows(a.validation, b.validation, "\(key) validation")
            XCTAssertEqual(a.checkpointMetadata, b.checkpointMetadata, "\(key) checkpoint metadata")
            XCTAssertEqual(a.checkpointSums.keys.sorted(), b.checkpointSums.keys.sorted(), "\(key) checkpoint tensors")
            for (k, s) in b.checkpointSums {
                guard let t = a.checkpointSums[k] else { continue }
                close(t[0], s[0], "\(key) checkpoint \(k) sum")
                close(t[1], s[1], "\(key) checkpoint \(k) sum of squares")
            }
        }
        print("RunnerPinnedResultsTests: \(recorded.count) runs, max relative difference \(worst)")
        XCTAssertEqual(reported, 0, "\(reported) values differ by more than 1e-5 (relative), at most by \(worst)")
    }
}
