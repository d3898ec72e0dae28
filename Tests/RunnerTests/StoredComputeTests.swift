import Foundation
import XCTest
import Datasets
import Runner
import Specs
import Store

/// The parameters and FLOPs a finished run stores (the x-axis of Figures 2 and 4) against counts
/// made here by hand from the architecture, and, for the reference architectures, against
/// torchvision's / HuggingFace's published parameter totals and PyTorch hook-counted MACs.
/// Conventions (formats.md 5.2, 6.4): parameters exclude BatchNorm running statistics; FLOPs =
/// 2 x multiply-adds of conv / linear / attention matmuls per example.
final class StoredComputeTests: XCTestCase {
    var scratch: Scratch!
    override func setUp() { scratch = Scratch("compute") }
    override func tearDown() { scratch.cleanup() }

    struct Cost: Equatable { var params = 0, macs = 0 }

    // MARK: counts by hand

    /// conv k x k (no bias) + BatchNorm over `out` channels at an `hw` x `hw` output.
    private func convBN(_ cin: Int, _ out: Int, _ k: Int, _ hw: Int) -> Cost {
        Cost(params: cin * out * k * k + 2 * out, macs: cin * out * k * k * hw * hw)
    }
    private func add(_ a: Cost, _ b: Cost) -> Cost { Cost(params: a.params + b.params, macs: a.macs + b.macs) }

    /// The paper's MLP (Linear -> hidden -> BatchNorm1d -> ReLU -> Linear).
    private func mlp(_ d: Int, _ hidden: Int, _ out: Int) -> Cost {
        Cost(params: d * hidden + hidden + 2 * hidden + hidden * out + out, macs: d * hidden + hidden * out)
    }

    /// A basic-block ResNet (torchvision layout): prefix through layer1, rest after it, final width,
    /// and the SideNet's input features at layer1.
    private func basicResNet(blocks: [Int], width: Int, input: Int) -> (prefix: Cost, rest: Cost, features: Int, attach: Int) {
        var hw = (input + 2 * 3 - 7) / 2 + 1                 // conv1 7x7 stride 2 pad 3
        var prefix = convBN(3, width, 7, hw)
        hw = (hw + 2 - 3) / 2 + 1                            // maxpool 3x3 stride 2 pad 1
        var rest = Cost(), cin = width
        for stage in 0..<4 {
            let planes = width << stage
            for b in 0..<blocks[stage] {
                let stride = (stage > 0 && b == 0) ? 2 : 1
                let out = (hw + 2 - 3) / stride + 1
                var c = add(convBN(cin, planes, 3, out), convBN(planes, planes, 3, out))
                if stride != 1 || cin != planes { c = add(c, convBN(cin, planes, 1, out)) }
                if stage == 0 { prefix = add(prefix, c) } else { rest = add(rest, c) }
                hw = out; cin = planes
            }
        }
        var a = (input + 2 * 3 - 7) / 2 + 1; a = (a + 2 - 3) / 2 + 1   // layer1 keeps the pooled size
        return (prefix, rest, cin, width * a * a)
    }

    /// BERT / DistilBERT encoder layers at `len` tokens: per layer Q, K, V, output (d x d), the
    /// feed-forward (d x i, i x d), scores and context (len x len x d each).
    private func encoderLayerMACs(d: Int, i: Int, len: Int) -> Int { 4 * len * d * d + 2 * len * d * i + 2 * len * len * d }

    /// SST files in `dir` whose sentences are all 12 vocabulary words, so that at max_length 8
    /// every test sentence is exactly 8 tokens and the stored FLOPs are for 8 tokens. The
    /// vocabulary is the generated one, padded with unused tokens to `vocabSize` lines if given.
    private func writeLongSentenceSST(_ dir: URL, count: Int, vocabSize: Int? = nil) throws -> Int {
        try SyntheticSST.write(to: dir, count: count, seed: 5, hardFraction: 0)
        var vocab = try String(contentsOf: dir.appendingPathComponent("vocab.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let words = vocab.filter { $0.count > 2 && $0.allSatisfy { $0.isLetter && $0.isLowercase } }
        XCTAssertGreaterThan(words.count, 12)
        if let v = vocabSize { vocab += (vocab.count..<v).map { "[pad\($0)]" } }
        try (vocab.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        for split in ["train", "dev", "test"] {
            let url = dir.appendingPathComponent("stsa.binary.\(split)")
            let n = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").count
            let lines = (0..<n).map { i in "\(i % 2) " + (0..<12).map { words[(i * 7 + $0 * 3) % words.count] }.joined(separator: " ") }
            try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        }
        return vocab.count
    }

    private func storedRun(_ spec: ExperimentSpec, _ store: ResultStore, baseDir: URL = SharedData.root) throws -> RunRow {
        var o = testOptions(scratch)
        o.baseDir = baseDir
        let outcomes = try Runner(store: store, options: o).run([spec])
        XCTAssertEqual(outcomes.map(\.status), outcomes.map { _ in .finished }, outcomes.compactMap(\.reason).joined())
        return try XCTUnwrap(storedRuns(store, spec).first { $0.variant == .sidenet })
    }

    private func assertStored(_ run: RunRow, prefix: Cost, side: Cost, main: Cost, _ tag: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.paramsPrefix, prefix.params, "\(tag) params_prefix", file: file, line: line)
        XCTAssertEqual(run.paramsSidenet, side.params, "\(tag) params_sidenet", file: file, line: line)
        XCTAssertEqual(run.paramsMainnet, main.params, "\(tag) params_mainnet", file: file, line: line)
        XCTAssertEqual(run.flopsPrefix, 2 * prefix.macs, "\(tag) flops_prefix", file: file, line: line)
        XCTAssertEqual(run.flopsSidenet, 2 * side.macs, "\(tag) flops_sidenet", file: file, line: line)
        XCTAssertEqual(run.flopsMainnet, 2 * main.macs, "\(tag) flops_mainnet", file: file, line: line)
    }

    // MARK: tests

    /// The shared tiny ResNet (blocks [1,1,1,1], width 4, 32x32, heads of 8 hidden units) by hand.
    func testTinyResNetRunStoresItsHandCountedBreakdown() throws {
        let store = try ResultStore(path: scratch.databasePath)
        let spec = try TinySpecs.resnet(name: "t-compute-resnet", variants: ["sidenet"], epochs: 1)
        let run = try storedRun(spec, store)
        let r = basicResNet(blocks: [1, 1, 1, 1], width: 4, input: 32)
        XCTAssertEqual(r.attach, 4 * 8 * 8)
        let head = mlp(r.features, 8, 10), side = mlp(r.attach, 8, 10)
        let main = add(add(r.prefix, r.rest), head)
        // the numbers written out once, so a wrong helper above cannot hide a wrong stored value
        XCTAssertEqual(r.prefix, Cost(params: 900, macs: 168_960))
        XCTAssertEqual(main, Cost(params: 20_422, macs: 212_304))
        assertStored(run, prefix: r.prefix, side: side, main: main, "tiny ResNet")
    }

    /// The shared tiny BERT (hidden 16, 2 layers, intermediate 32, SideNet after layer 0) at
    /// max_length 8 on 12-word sentences: every test sentence is 8 tokens, so FLOPs are for 8 tokens.
    func testTinyBertRunStoresItsHandCountedBreakdown() throws {
        let store = try ResultStore(path: scratch.databasePath)
        let dir = scratch.dir.appendingPathComponent("sst-long")
        let vocab = try writeLongSentenceSST(dir, count: 60)
        let spec = try ExperimentSpec.parse(yaml: """
            name: t-compute-bert
            seeds: [0]
            variants: [sidenet]
            data: {dataset: sst2, path: \(dir.path), synthetic: true, split: paper, max_length: 8}
            mainnet:
              arch: bert
              config: {hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64}
              vocab: \(dir.path)/vocab.txt
              head: {hidden: 8}
            sidenet: {attach: encoder.layer.0, hidden: 8}
            training: {regime: full, optimizer: {name: adam, lr: 1.0e-3}, epochs: 1, batch_size: 16}
            """, file: "t-compute-bert.yaml")
        let run = try storedRun(spec, store)
        let d = 16, i = 32, len = 8
        let embeddings = (vocab + 64 + 2) * d + 2 * d
        let layer = Cost(params: 4 * (d * d + d) + 2 * d + d * i + i + i * d + d + 2 * d, macs: encoderLayerMACs(d: d, i: i, len: len))
        let pooler = Cost(params: d * d + d, macs: d * d)
        let prefix = Cost(params: embeddings + layer.params, macs: layer.macs)
        let main = add(add(add(prefix, layer), pooler), mlp(d, 8, 1))
        assertStored(run, prefix: prefix, side: mlp(d, 8, 1), main: main, "tiny BERT")
    }

    /// ResNet18/34/50/152 runs: stored MainNet = torchvision's total with its 1000-class fc
    /// replaced by the MLP head; FLOPs = PyTorch hook-counted MACs (Tests/Fixtures/models.py) the same way.
    func testReferenceResNetRunsStoreTorchvisionTotals() throws {
        let store = try ResultStore(path: scratch.databasePath)
        // (arch, torchvision params, conv+linear MACs at 32x32 with the 1000-class fc, fc inputs, layer1 channels)
        let reference: [(String, Int, Int, Int, Int)] = [
            ("resnet18", 11_689_512, 37_523_456, 512, 64), ("resnet34", 21_797_672, 75_272_192, 512, 64),
            ("resnet50", 25_557_032, 85_458_944, 2048, 256), ("resnet152", 60_192_808, 236_978_176, 2048, 256),
        ]
        for (arch, tvParams, tvMACs, fcIn, c1) in reference {
            let spec = try ExperimentSpec.parse(yaml: """
                name: t-compute-\(arch)
                seeds: [0]
                variants: [sidenet]
                data: {dataset: cifar10, path: \(SharedData.cifarPath), synthetic: true, validation: 4, input_size: 32, limit: {train: 12, test: 4}}
                mainnet: {arch: \(arch), weights: null}
                sidenet: {attach: layer1}
                training: {regime: heads, optimizer: {name: adam, lr: 1.0e-3}, epochs: 1, batch_size: 4}
                evaluation: {batch_size: 8}
                """, file: "\(arch).yaml")
            let run = try storedRun(spec, store)
            let fc = Cost(params: fcIn * 1000 + 1000, macs: fcIn * 1000), head = mlp(fcIn, 32, 10)
            XCTAssertEqual((run.paramsMainnet ?? 0) - head.params + fc.params, tvParams, "\(arch): torchvision num_params")
            XCTAssertEqual((run.flopsMainnet ?? 0) / 2 - head.macs + fc.macs, tvMACs, "\(arch): hook-counted MACs at 32x32")
            XCTAssertEqual(run.paramsSidenet, mlp(c1 * 8 * 8, 32, 10).params, "\(arch): SideNet on layer1 [\(c1), 8, 8]")
            XCTAssertEqual(run.flopsSidenet, 2 * mlp(c1 * 8 * 8, 32, 10).macs, arch)
            XCTAssertLessThan(run.paramsPrefix ?? 0, run.paramsMainnet ?? 0, arch)
        }
    }

    /// DistilBERT and BERT-base runs (random weights, heads regime, 8-token sentences): stored MainNet
    /// = HF base-model total (+ the MLP head); FLOPs by hand at 8 tokens.
    func testReferenceTransformerRunsStoreHFTotals() throws {
        let store = try ResultStore(path: scratch.databasePath)
        // a vocabulary of HF's 30,522 lines: the generated one padded with unused tokens
        let dir = scratch.dir.appendingPathComponent("sst30522")
        XCTAssertEqual(try writeLongSentenceSST(dir, count: 24, vocabSize: 30522), 30522)
        // (arch, attach, HF base-model parameters, layers, pooler)
        for (arch, attach, hf, layers, pooler) in [("distilbert", "transformer.layer.0", 66_362_880, 6, false),
                                                   ("bert-base", "encoder.layer.3", 109_482_240, 12, true)] {
            let spec = try ExperimentSpec.parse(yaml: """
                name: t-compute-\(arch)
                seeds: [0]
                variants: [sidenet]
                data: {dataset: sst2, path: \(dir.path), synthetic: true, split: paper, max_length: 8}
                mainnet: {arch: \(arch), vocab: \(dir.path)/vocab.txt, weights: null}
                sidenet: {attach: \(attach)}
                training: {regime: heads, optimizer: {name: adam, lr: 1.0e-3}, epochs: 1, batch_size: 4}
                evaluation: {batch_size: 16}
                """, file: "\(arch).yaml")
            let run = try storedRun(spec, store)
            let d = 768, n = Int(attach.split(separator: ".").last!)! + 1
            let head = mlp(d, 32, 1)
            XCTAssertEqual((run.paramsMainnet ?? 0) - head.params, hf, "\(arch): HF base-model parameters")
            XCTAssertEqual(run.paramsSidenet, head.params, arch)
            let layer = encoderLayerMACs(d: d, i: 3072, len: 8)
            XCTAssertEqual(run.flopsPrefix, 2 * n * layer, "\(arch): \(n) layers at 8 tokens")
            XCTAssertEqual(run.flopsMainnet, 2 * (layers * layer + (pooler ? d * d : 0) + head.macs), arch)
            XCTAssertEqual(run.flopsSidenet, 2 * head.macs, arch)
        }
    }
}
