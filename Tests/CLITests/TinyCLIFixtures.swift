import Foundation
import XCTest

// Tiny data and one finished run, made ONCE per test process through the real binary and shared
// by the per-command CLI tests (which only read them, each writing into its own CLIScratch):
//   <root>/cifar      `sidenet data synth cifar10 --train 60 --test 20`  (synthetic stand-in)
//   <root>/sst        `sidenet data synth sst --count 120`               (synthetic stand-in)
//   <root>/resnet.yaml, bert.yaml   tiny specs with absolute data paths
//   <root>/results/sidenet.sqlite   `sidenet run resnet.yaml` (1 epoch, sidenet + baseline, seed 0)

/// The shared folder, removed when the test process exits.
nonisolated(unsafe) private var sharedRoot: String?

enum TinyCLI {
    struct Fixture {
        let root: URL
        /// Absolute paths.
        var cifar: String { root.appendingPathComponent("cifar").path }
        var sst: String { root.appendingPathComponent("sst").path }
        var resnetSpec: String { root.appendingPathComponent("resnet.yaml").path }
        var bertSpec: String { root.appendingPathComponent("bert.yaml").path }
        var database: String { root.appendingPathComponent("results/sidenet.sqlite").path }
        var resultsDir: String { root.appendingPathComponent("results").path }
        /// The stdout of the shared `sidenet run`.
        let runOutput: String

        /// Checkpoints the shared run wrote (absolute paths), e.g. `*/sidenet-seed0-best-epoch1.safetensors`.
        func checkpoints() -> [String] {
            let dir = root.appendingPathComponent("results/checkpoints")
            let e = FileManager.default.enumerator(atPath: dir.path)
            var out: [String] = []
            while let f = e?.nextObject() as? String {
                if f.hasSuffix(".safetensors") { out.append(dir.appendingPathComponent(f).path) }
            }
            return out.sorted()
        }
    }

    static let cifarTrain = 60, cifarTest = 20, sstCount = 120
    static let resnetName = "cli-tiny-resnet"
    static let bertName = "cli-tiny-bert"

    /// A tiny ResNet spec (blocks [1,1,1,1], width 4) on `cifarPath`, 1 epoch.
    static func resnetYAML(name: String = resnetName, cifarPath: String, seeds: [Int] = [0],
                           variants: String = "[sidenet, baseline]", epochs: Int = 1) -> String {
        """
        name: \(name)
        seeds: [\(seeds.map(String.init).joined(separator: ", "))]
        variants: \(variants)
        data:
          dataset: cifar10
          path: \(cifarPath)
          synthetic: true
          validation: 12
          input_size: 32
        mainnet:
          arch: resnet
          config: {blocks: [1, 1, 1, 1], width: 4, block: basic}
          head: {hidden: 8}
        sidenet: {attach: layer1, hidden: 8}
        training:
          regime: full
          optimizer: {name: adam, lr: 1.0e-3}
          epochs: \(epochs)
          batch_size: 16
        evaluation: {batch_size: 32}

        """
    }

    /// A tiny BERT spec (hidden 16, 2 layers) on `sstPath`, 1 epoch.
    static func bertYAML(name: String = bertName, sstPath: String) -> String {
        """
        name: \(name)
        seeds: [0]
        variants: [sidenet]
        data:
          dataset: sst2
          path: \(sstPath)
          synthetic: true
          split: paper
          max_length: 32
        mainnet:
          arch: bert
          config: {hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64}
          vocab: \(sstPath)/vocab.txt
          head: {hidden: 8}
        sidenet: {attach: encoder.layer.0, hidden: 8}
        training:
          regime: full
          optimizer: {name: adam, lr: 1.0e-3}
          epochs: 1
          batch_size: 16
        evaluation: {batch_size: 64}

        """
    }

    /// Built on first use; a failure to build it is reported by every test that needs it.
    static let shared: Result<Fixture, Error> = Result { try build() }

    static func fixture(file: StaticString = #filePath, line: UInt = #line) throws -> Fixture {
        switch shared {
        case .success(let f): return f
        case .failure(let e):
            XCTFail("shared CLI fixture could not be built: \(e)", file: file, line: line)
            throw e
        }
    }

    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    private static func build() throws -> Fixture {
        try SidenetBinary.requireBuilt()
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("sidenet-cli-shared-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        sharedRoot = root.path
        atexit { if let p = sharedRoot { try? FileManager.default.removeItem(atPath: p) } }
        func must(_ args: [String]) throws -> String {
            let r = try sidenet(args, cwd: root)
            guard !r.signalled, r.status == 0 else {
                throw SetupError(description: "sidenet \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)")
            }
            return r.stdout
        }
        _ = try must(["data", "synth", "cifar10", "--out", "cifar", "--train", "\(cifarTrain)", "--test", "\(cifarTest)", "--seed", "3"])
        _ = try must(["data", "synth", "sst", "--out", "sst", "--count", "\(sstCount)", "--seed", "3"])
        let cifar = root.appendingPathComponent("cifar").path, sst = root.appendingPathComponent("sst").path
        try resnetYAML(cifarPath: cifar).write(to: root.appendingPathComponent("resnet.yaml"), atomically: true, encoding: .utf8)
        try bertYAML(sstPath: sst).write(to: root.appendingPathComponent("bert.yaml"), atomically: true, encoding: .utf8)
        let out = try must(["run", "resnet.yaml", "--db", "results/sidenet.sqlite", "--results", "results", "--threads", "2"])
        return Fixture(root: root, runOutput: out)
    }
}

/// Runs `sidenet ARGS...` with `stdin` as its standard input (for `tokenize`).
func sidenet(_ args: [String], cwd: URL, stdin text: String) throws -> CLIResult {
    try SidenetBinary.requireBuilt()
    let input = cwd.appendingPathComponent("stdin-\(UUID().uuidString.prefix(6)).txt")
    try text.write(to: input, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: input) }
    let p = Process()
    p.executableURL = SidenetBinary.url
    p.arguments = args
    p.currentDirectoryURL = cwd
    let out = cwd.appendingPathComponent("tok.stdout"), err = cwd.appendingPathComponent("tok.stderr")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    p.standardInput = try FileHandle(forReadingFrom: input)
    try p.run()
    p.waitUntilExit()
    let r = CLIResult(status: p.terminationStatus, stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "",
                      signalled: p.terminationReason == .uncaughtSignal)
    try? FileManager.default.removeItem(at: out)
    try? FileManager.default.removeItem(at: err)
    return r
}

/// Asserts a clean failure (non-zero exit, no signal) whose stderr mentions every needle
/// (messages are being reworded elsewhere, so tests pass only robust key words).
func assertRejected(_ r: CLIResult, mentions needles: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(r.signalled, "crashed with signal \(r.status); stderr: \(r.stderr)", file: file, line: line)
    XCTAssertNotEqual(r.status, 0, "expected a non-zero exit; stdout: \(r.stdout) stderr: \(r.stderr)", file: file, line: line)
    XCTAssertFalse(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "no error message on stderr", file: file, line: line)
    for n in needles {
        XCTAssertTrue(r.stderr.contains(n), "stderr lacks '\(n)': \(r.stderr)", file: file, line: line)
    }
}

/// The lines of `text` whose whitespace-separated fields start with `prefix`.
func outputRows(_ text: String, startingWith prefix: [String]) -> [[String]] {
    text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        .filter { $0.count >= prefix.count && Array($0.prefix(prefix.count)) == prefix }
}

/// The run rows of `sidenet list` (id, variant, seed, status, epochs, best, main %, side %).
func listedRuns(_ listOutput: String) -> [[String]] {
    var out: [[String]] = []
    for line in listOutput.split(separator: "\n") {
        let f: [String] = line.split(separator: " ").map { String($0) }
        if f.count >= 4, Int(f[0]) != nil, f[1] == "sidenet" || f[1] == "baseline" { out.append(f) }
    }
    return out
}

/// The first line of `text` that starts with `prefix`.
func firstLine(_ text: String, startingWith prefix: String) -> String? {
    text.split(separator: "\n").map { String($0) }.first { $0.hasPrefix(prefix) }
}
