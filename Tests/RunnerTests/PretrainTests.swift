import Foundation
import XCTest
import Runner
import Specs
import Store
import WeightIO

/// `Pretrainer`: one pretraining per (spec, data), written under torchvision / HF names, reused
/// afterwards without a training pass, and loadable as an experiment's `mainnet.weights`.
final class PretrainTests: XCTestCase {
    func testPretrainWritesTorchvisionNamesAndSecondCallReuses() throws {
        let scratch = Scratch("pretrain"); defer { scratch.cleanup() }
        let progress = RecordingProgress()
        let options = testOptions(scratch, progress: progress)
        let store = try ResultStore(path: scratch.databasePath)
        let spec = try TinySpecs.resnet(name: "pre", variants: ["baseline"], regime: "full", epochs: 1)
        let out = scratch.dir.appendingPathComponent("pretrained/pre.safetensors")

        let first = try Pretrainer.pretrain(spec, out: out, store: store, options: options)
        XCTAssertFalse(first.reused)
        XCTAssertNotNil(first.testAccMain)
        let file = try SafeTensorsFile(contentsOf: out)
        XCTAssertEqual(file.metadata["pretrain_key"], first.key)
        XCTAssertNotNil(file.tensors["conv1.weight"])
        XCTAssertNotNil(file.tensors["layer4.0.bn2.running_var"])
        XCTAssertTrue(file.tensors.keys.allSatisfy { !$0.hasPrefix("head.") && !$0.hasPrefix("sidenet") && !$0.hasPrefix("optim.") },
                      "\(file.tensors.keys.sorted())")
        let trainedBatches = progress.begins.count
        XCTAssertGreaterThan(trainedBatches, 0)
        let modified = try FileManager.default.attributesOfItem(atPath: out.path)[.modificationDate] as? Date

        // a second call (another seed or variant of the demo, or a rerun) trains nothing
        let second = try Pretrainer.pretrain(spec, out: out, store: store, options: options)
        XCTAssertTrue(second.reused)
        XCTAssertEqual(second.key, first.key)
        XCTAssertEqual(progress.begins.count, trainedBatches, "a training or test pass ran again: \(progress.begins)")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: out.path)[.modificationDate] as? Date, modified)
        let runs = try storedRuns(store, spec)
        XCTAssertEqual(runs.count, 1)
        XCTAssertEqual(runs.first?.attempts, 1)

        // the fine-tuning spec loads it through the torchvision path (no head in the file)
        let fine = try TinySpecs.resnet(name: "fine", regime: "full", weights: out.path)
        let o = try JointObjective(spec: fine, baseDir: SharedData.root, seed: 5)
        let conv1 = o.parameters.first { $0.0 == "conv1.weight" }!.1
        XCTAssertEqual(conv1.value.data, try file.tensors["conv1.weight"]!.floats())

        // a different pretraining spec has another key: it trains again
        let other = try TinySpecs.resnet(name: "pre", variants: ["baseline"], regime: "full", epochs: 1, lr: "2.0e-3")
        XCTAssertNotEqual(try Pretrainer.key(other, baseDir: SharedData.root), first.key)
    }

    /// With several seeds every seed trains, and the file holds the body of the seed whose
    /// selected epoch has the highest validation accuracy (test accuracy plays no part).
    func testPretrainExportsTheSeedWithTheBestValidationAccuracy() throws {
        let scratch = Scratch("pretrain-seeds"); defer { scratch.cleanup() }
        let store = try ResultStore(path: scratch.databasePath)
        let spec = try TinySpecs.resnet(name: "pre3", seeds: [0, 1, 2], variants: ["baseline"], regime: "full", epochs: 2)
        let out = scratch.dir.appendingPathComponent("pretrained/pre3.safetensors")
        _ = try Pretrainer.pretrain(spec, out: out, store: store, options: testOptions(scratch))
        let runs = try storedRuns(store, spec)
        XCTAssertEqual(Set(runs.map(\.seed)), [0, 1, 2])
        // the expected seed, from the store alone
        var scored: [(acc: Double, rank: Int, path: String)] = []
        for r in runs {
            let c = try XCTUnwrap(try store.checkpoint(runId: r.id!, kind: .best))
            let acc = try XCTUnwrap(try store.epochs(runId: r.id!).first { $0.epoch == c.epoch }?.valAccMain)
            scored.append((acc, [0, 1, 2].firstIndex(of: r.seed)!, c.path))
        }
        let expected = scored.max { ($0.acc, -$0.rank) < ($1.acc, -$1.rank) }!
        let best = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: expected.path))
        let file = try SafeTensorsFile(contentsOf: out)
        XCTAssertTrue(try file.tensors["conv1.weight"]!.floats() == best.tensors["conv1.weight"]!.floats(),
                      "the exported body is not that of the seed with the best validation accuracy (\(expected.acc))")
        // and it differs from at least one other seed's body (the choice is observable)
        let others = try scored.filter { $0.path != expected.path }.map {
            try SafeTensorsFile(contentsOf: URL(fileURLWithPath: $0.path)).tensors["conv1.weight"]!.floats()
        }
        let exported = try file.tensors["conv1.weight"]!.floats()
        XCTAssertTrue(others.contains { $0 != exported })
    }

    func testPretrainWritesHuggingFaceNamesForBERT() throws {
        let scratch = Scratch("pretrain-bert"); defer { scratch.cleanup() }
        let store = try ResultStore(path: scratch.databasePath)
        let spec = try TinySpecs.bert(name: "pre-bert", variants: ["baseline"], regime: "full", epochs: 1)
        let out = scratch.dir.appendingPathComponent("pre-bert.safetensors")
        _ = try Pretrainer.pretrain(spec, out: out, store: store, options: testOptions(scratch))
        let file = try SafeTensorsFile(contentsOf: out)
        XCTAssertNotNil(file.tensors["bert.embeddings.word_embeddings.weight"])
        XCTAssertNotNil(file.tensors["bert.encoder.layer.1.output.dense.weight"])
        XCTAssertTrue(file.tensors.keys.allSatisfy { $0.hasPrefix("bert.") }, "\(file.tensors.keys.sorted())")
    }

    func testPretrainRefusesSpecsThatAreNotMainNetAlone() throws {
        let scratch = Scratch("pretrain-bad"); defer { scratch.cleanup() }
        let store = try ResultStore(path: scratch.databasePath)
        let heads = try TinySpecs.resnet(name: "bad", variants: ["baseline"], regime: "heads", epochs: 1)
        XCTAssertThrowsError(try Pretrainer.pretrain(heads, out: scratch.dir.appendingPathComponent("x.safetensors"),
                                                     store: store, options: testOptions(scratch))) {
            XCTAssertTrue("\($0)".contains("regime full and variant baseline"), "\($0)")
        }
    }
}
