import Foundation
import XCTest
import Models
import Specs

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

final class SpecFilesTests: XCTestCase {
    func specFiles() throws -> [URL] {
        var out: [URL] = []
        for sub in ["paper", "paper-frozen", "demo"] {
            let dir = repoRoot.appendingPathComponent("experiments/\(sub)")
            for n in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where n.hasSuffix(".yaml") {
                out.append(dir.appendingPathComponent(n))
            }
        }
        return out
    }

    func testEveryExperimentFileLoadsAndRoundTrips() throws {
        let files = try specFiles()
        XCTAssertEqual(files.count, 21, "7 paper + 7 paper-frozen + 7 demo specs expected")
        var names = Set<String>(), hashes = Set<String>()
        for url in files {
            let spec: ExperimentSpec
            do { spec = try ExperimentSpec.load(url) } catch {
                XCTFail("\(url.lastPathComponent): \(error)"); continue
            }
            XCTAssertTrue(names.insert(spec.name).inserted, "duplicate name \(spec.name)")
            XCTAssertTrue(hashes.insert(spec.specHash).inserted, "duplicate hash in \(url.lastPathComponent)")
            XCTAssertEqual(spec.specHash.count, 64)
            XCTAssertTrue(spec.specHash.allSatisfy { "0123456789abcdef".contains($0) })
            let back = try ExperimentSpec.fromJSON(spec.canonicalJSON())
            XCTAssertEqual(back, spec, "\(url.lastPathComponent): canonical JSON does not round-trip")
            XCTAssertEqual(back.canonicalJSON(), spec.canonicalJSON())
            XCTAssertEqual(Set(spec.variants), [.sidenet, .baseline])
            XCTAssertEqual(spec.training.plateau.factor, 1.0 / 3.0)
            XCTAssertEqual(spec.training.plateau.patience, 5)
            XCTAssertNotNil(spec.paper?.table2, url.lastPathComponent)
            let isDemo = url.path.contains("/demo/")
            XCTAssertEqual(spec.data.synthetic, isDemo)
            if isDemo {
                // the paper's protocol on pretrained stand-in MainNets (sidenet pretrain writes them)
                XCTAssertEqual(spec.mainnet.weights?.hasPrefix("results/pretrained/"), true, url.lastPathComponent)
                XCTAssertEqual(spec.training.regime, .full)
                XCTAssertEqual(spec.training.alpha, 1.0)
                XCTAssertTrue(spec.data.path.hasPrefix("data/synthetic/"))
            } else {
                XCTAssertEqual(spec.seeds, [0, 1, 2, 3, 4])
                // paper: joint fine-tuning; paper-frozen: the CPU approximation with a frozen body
                let frozen = url.path.contains("/paper-frozen/")
                XCTAssertEqual(spec.training.regime, frozen ? .heads : .full, url.lastPathComponent)
                XCTAssertEqual(spec.training.alpha, 1.0)
                XCTAssertEqual(spec.paper?.label.contains("CPU approximation"), frozen, url.lastPathComponent)
                XCTAssertEqual(spec.data.inputSize ?? 32, 32)
                XCTAssertEqual(spec.training.optimizer.lr, spec.data.dataset == .cifar10 ? 3e-4 : 3e-6)
                XCTAssertEqual(spec.training.epochs, spec.data.dataset == .cifar10 ? 50 : 20)
                XCTAssertNotNil(spec.mainnet.weights)
                if spec.data.dataset == .cifar10 {
                    XCTAssertEqual(spec.training.batchSize, 128)
                    XCTAssertEqual(spec.sidenet.attach, "layer1")
                    XCTAssertNotNil(spec.paper?.table1)
                    XCTAssertEqual(spec.paper?.figure, 2)
                } else {
                    XCTAssertEqual(spec.data.split, .paper)
                    XCTAssertEqual(spec.paper?.figure, 4)
                }
            }
        }
        XCTAssertEqual(names.count, 21)
    }

    func testPaperValuesSpotCheck() throws {
        let r50 = try ExperimentSpec.load(repoRoot.appendingPathComponent("experiments/paper/cifar10-resnet50.yaml"))
        print("canonical JSON of cifar10-resnet50: \(r50.canonicalJSON())\nspecHash: \(r50.specHash)")
        XCTAssertEqual(r50.mainnet.weights, "weights/resnet50-0676ba61.pth")
        XCTAssertEqual(r50.paper?.table2?.sidenet, MeanStd(mean: 94.0, std: 0.2))
        XCTAssertEqual(r50.paper?.table1?.mainnetECE, MeanStd(mean: 0.91, std: 0.17))
        XCTAssertEqual(r50.mainnet.resolvedConfig, .inline(FamilyConfig(["blocks": .list([3, 4, 6, 3].map { .int($0) }),
                                                                         "width": .int(64), "block": .string("bottleneck")])))
        let large = try ExperimentSpec.load(repoRoot.appendingPathComponent("experiments/paper/sst2-bert-large.yaml"))
        XCTAssertEqual(large.sidenet.attach, "encoder.layer.7")
        XCTAssertEqual(large.paper?.table2?.baseline, MeanStd(mean: 92.8, std: 0.5))
        XCTAssertEqual(large.mainnet.config, .path("weights/bert-large-uncased/config.json"))
        let distil = try ExperimentSpec.load(repoRoot.appendingPathComponent("experiments/demo/sst2-distilbert.yaml"))
        guard case .inline(let d)? = distil.mainnet.config else { return XCTFail("inline distilbert config expected") }
        XCTAssertEqual(d["n_layers"], .int(2))
        XCTAssertNil(d["vocab_size"])
        // the vocabulary size comes from the vocab file when the config leaves it open
        let hf = try DistilBertFamily().distilBertConfig(d, context: MainNetContext(vocabSize: 321, outputs: 1))
        XCTAssertEqual(hf.vocabSize, 321)
    }
}

/// A valid base spec; tests mutate one line and check the error.
let baseYAML = """
name: t
seeds: [0, 1]
variants: [sidenet, baseline]
data: {dataset: cifar10, path: data/x}
mainnet:
  arch: resnet18
  weights: null
sidenet: {attach: layer1}
training:
  regime: heads
  optimizer:
    name: adam
    lr: 3.0e-4
  epochs: 5
  batch_size: 16

"""

final class SpecErrorTests: XCTestCase {
    func expectError(_ yaml: String, kind: SpecError.Kind, keyPath: String, line: Int? = nil,
                     mentions: [String] = [], file: StaticString = #filePath, lineNo: UInt = #line) {
        XCTAssertThrowsError(try ExperimentSpec.parse(yaml: yaml, file: "exp/bad.yaml"), file: file, line: lineNo) { e in
            guard let se = e as? SpecError else { return XCTFail("not a SpecError: \(e)", file: file, line: lineNo) }
            XCTAssertEqual(se.kind, kind, "\(se)", file: file, line: lineNo)
            XCTAssertEqual(se.keyPath, keyPath, "\(se)", file: file, line: lineNo)
            let text = "\(se)"
            XCTAssertTrue(text.hasPrefix("exp/bad.yaml:"), text, file: file, line: lineNo)
            if !keyPath.isEmpty { XCTAssertTrue(text.contains(keyPath), text, file: file, line: lineNo) }
            if let line { XCTAssertEqual(se.line, line, text, file: file, line: lineNo) }
            for m in mentions { XCTAssertTrue(text.contains(m), "'\(m)' missing in: \(text)", file: file, line: lineNo) }
        }
    }

    func testBaseIsValidAndDefaultsFilled() throws {
        let s = try ExperimentSpec.parse(yaml: baseYAML)
        XCTAssertEqual(s.data.validation, 5000)
        XCTAssertEqual(s.data.normalize, .imagenet)
        XCTAssertNil(s.data.maxLength)
        XCTAssertEqual(s.sidenet.hidden, 32)
        XCTAssertEqual(s.training.optimizer.betas, [0.9, 0.999])
        XCTAssertEqual(s.training.plateau, PlateauSpec())
        XCTAssertEqual(s.evaluation.ece, ECESpec(bins: 8, low: 0.2, high: 1.0))
    }

    func testUnknownKeyNamesPathLineAndAllowedKeys() {
        expectError(baseYAML.replacingOccurrences(of: "    lr: 3.0e-4", with: "    lr: 3.0e-4\n    lrr: 1"),
                    kind: .unknownKey, keyPath: "training.optimizer.lrr", line: 14,
                    mentions: ["lrr", "allowed keys", "weight_decay"])
        expectError(baseYAML + "extra: 1\n", kind: .unknownKey, keyPath: "extra", mentions: ["paper"])
        // A key valid for text data is unknown for CIFAR.
        expectError(baseYAML.replacingOccurrences(of: "path: data/x}", with: "path: data/x, max_length: 64}"),
                    kind: .unknownKey, keyPath: "data.max_length", mentions: ["cifar10"])
    }

    func testWrongTypes() {
        expectError(baseYAML.replacingOccurrences(of: "epochs: 5", with: "epochs: five"),
                    kind: .wrongType, keyPath: "training.epochs", line: 14, mentions: ["integer", "\"five\""])
        expectError(baseYAML.replacingOccurrences(of: "epochs: 5", with: "epochs: 5.5"),
                    kind: .wrongType, keyPath: "training.epochs", mentions: ["integer"])
        expectError(baseYAML.replacingOccurrences(of: "lr: 3.0e-4", with: "lr: [1]"),
                    kind: .wrongType, keyPath: "training.optimizer.lr", mentions: ["number"])
        expectError(baseYAML.replacingOccurrences(of: "seeds: [0, 1]", with: "seeds: [0, x]"),
                    kind: .wrongType, keyPath: "seeds[1]")
        expectError(baseYAML.replacingOccurrences(of: "sidenet: {attach: layer1}", with: "sidenet: layer1"),
                    kind: .wrongType, keyPath: "sidenet", mentions: ["mapping"])
        expectError(baseYAML.replacingOccurrences(of: "regime: heads", with: "regime: everything"),
                    kind: .outOfRange, keyPath: "training.regime", mentions: ["heads, sidenet, full"])
    }

    func testOutOfRange() {
        expectError(baseYAML.replacingOccurrences(of: "lr: 3.0e-4", with: "lr: -1"),
                    kind: .outOfRange, keyPath: "training.optimizer.lr", line: 13, mentions: ["allowed > 0"])
        expectError(baseYAML.replacingOccurrences(of: "epochs: 5", with: "epochs: 0"),
                    kind: .outOfRange, keyPath: "training.epochs", mentions: ["1...10000"])
        expectError(baseYAML + "evaluation: {ece: {low: 0.5, high: 0.5}}\n",
                    kind: .outOfRange, keyPath: "evaluation.ece", mentions: ["low < high"])
        expectError(baseYAML + "evaluation: {ece: {bins: 0}}\n",
                    kind: .outOfRange, keyPath: "evaluation.ece.bins")
        expectError(baseYAML.replacingOccurrences(of: "seeds: [0, 1]", with: "seeds: [0, 1, 0]"),
                    kind: .invalid, keyPath: "seeds[2]", mentions: ["unique"])
        expectError(baseYAML.replacingOccurrences(of: "seeds: [0, 1]", with: "seeds: []"),
                    kind: .invalid, keyPath: "seeds")
        expectError(baseYAML.replacingOccurrences(of: "  epochs: 5", with: "  epochs: 5\n  plateau: {factor: 1.5}"),
                    kind: .outOfRange, keyPath: "training.plateau.factor")
    }

    func testBadAttachPoints() {
        expectError(baseYAML.replacingOccurrences(of: "attach: layer1", with: "attach: layer5"),
                    kind: .invalid, keyPath: "sidenet.attach", line: 8, mentions: ["layer1, layer2"])
        expectError(baseYAML.replacingOccurrences(of: "attach: layer1", with: "attach: layer2.2"),
                    kind: .invalid, keyPath: "sidenet.attach", mentions: ["2 blocks"])
        expectError(baseYAML.replacingOccurrences(of: "attach: layer1", with: "attach: encoder.layer.3"),
                    kind: .invalid, keyPath: "sidenet.attach")
        let bert = """
        name: b
        seeds: [0]
        variants: [sidenet]
        data: {dataset: sst2, path: data/sst}
        mainnet: {arch: bert-base, vocab: v.txt, weights: null}
        sidenet: {attach: encoder.layer.12}
        training: {regime: heads, optimizer: {lr: 1.0e-5}, epochs: 1, batch_size: 8}
        """
        expectError(bert, kind: .invalid, keyPath: "sidenet.attach", mentions: ["12 layers"])
        expectError(bert.replacingOccurrences(of: "encoder.layer.12", with: "transformer.layer.0"),
                    kind: .invalid, keyPath: "sidenet.attach")
        XCTAssertNoThrow(try ExperimentSpec.parse(yaml: bert.replacingOccurrences(of: "encoder.layer.12", with: "encoder.layer.11")))
        expectError(bert.replacingOccurrences(of: "arch: bert-base", with: "arch: resnet18"),
                    kind: .unknownKey, keyPath: "mainnet.vocab")
        expectError(bert.replacingOccurrences(of: "arch: bert-base, vocab: v.txt,", with: "arch: bert, vocab: v.txt,"),
                    kind: .missingKey, keyPath: "mainnet.config")
    }

    func testMissingKeyAndSyntax() {
        expectError(baseYAML.replacingOccurrences(of: "  epochs: 5\n", with: ""),
                    kind: .missingKey, keyPath: "training.epochs", mentions: ["required"])
        expectError("name: [", kind: .syntax, keyPath: "")
        expectError("a: 1\na: 2\n", kind: .syntax, keyPath: "")
    }

    func testLoadReportsFileName() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("specs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.yaml")
        try baseYAML.replacingOccurrences(of: "lr: 3.0e-4", with: "lr: 0").write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ExperimentSpec.load(url)) { e in
            XCTAssertTrue("\(e)".contains(url.path + ":13: training.optimizer.lr:"), "\(e)")
        }
    }
}

final class SpecHashTests: XCTestCase {
    func testSHA256Vectors() {
        XCTAssertEqual(SpecsSHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SpecsSHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SpecsSHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SpecsSHA256.hex([UInt8](repeating: 0x61, count: 1000)).prefix(16), "41edece42d63e8d9")
    }

    func testHashTracksResultFieldsOnly() throws {
        let base = try ExperimentSpec.parse(yaml: baseYAML)
        func hash(_ from: String, _ to: String) throws -> String {
            let y = baseYAML.replacingOccurrences(of: from, with: to)
            XCTAssertNotEqual(y, baseYAML, "replacement \(from) did not apply")
            return try ExperimentSpec.parse(yaml: y).specHash
        }
        // result-affecting changes
        XCTAssertNotEqual(try hash("lr: 3.0e-4", "lr: 3.0e-5"), base.specHash)
        XCTAssertNotEqual(try hash("attach: layer1", "attach: layer2"), base.specHash)
        XCTAssertNotEqual(try hash("path: data/x", "path: data/y"), base.specHash)
        XCTAssertNotEqual(try hash("epochs: 5", "epochs: 6"), base.specHash)
        XCTAssertNotEqual(try hash("weights: null", "weights: w.pth"), base.specHash)
        XCTAssertNotEqual(try hash("batch_size: 16", "batch_size: 17"), base.specHash)
        XCTAssertNotEqual(try hash("arch: resnet18", "arch: resnet34"), base.specHash)
        // equivalent spellings and non-result fields
        XCTAssertEqual(try hash("lr: 3.0e-4", "lr: 0.0003"), base.specHash)
        XCTAssertEqual(try hash("  weights: null\n", ""), base.specHash)
        XCTAssertEqual(try hash("seeds: [0, 1]", "seeds: [0, 1, 2]"), base.specHash)
        XCTAssertEqual(try hash("name: t", "name: t\ndescription: words\npaper: {label: X}"), base.specHash)
        XCTAssertEqual(try hash("name: t", "name: t\nevaluation: {ece: {bins: 10}}"), base.specHash)
        // explicit default values hash like omitted ones; the canonical JSON lists them
        XCTAssertEqual(try hash("sidenet: {attach: layer1}", "sidenet: {attach: layer1, hidden: 32}"), base.specHash)
        XCTAssertTrue(base.canonicalJSON().contains("\"hidden\":32"))
        XCTAssertTrue(base.canonicalJSON().contains("\"lr\":0.0003"))
    }
}
