import Foundation
import XCTest

/// Hostile and careless inputs through the real binary (issue 9, items 2 and 5): no crash (signal),
/// a non-zero exit and one line on stderr that names the file, tensor, option or field.
final class DefectsCLITests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")
    static let demoSpec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("experiments/demo/cifar10-resnet18.yaml")

    /// The error lines of stderr (ArgumentParser's usage lines after a ValidationError excluded).
    func errorLines(_ r: CLIResult) -> [String] {
        r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("Error:") }
    }

    func testDeepPickleAndTwoDTypeStorageAreOneLineErrors() throws {
        let s = CLIScratch("hostile-pth"); defer { s.cleanup() }
        // A legacy .pth (magic, protocol 1001, empty sys_info) whose state dict is 30,000 nested lists.
        let head: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E,
                             0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E, 0x80, 0x02, 0x7D, 0x2E]
        let n = 30_000
        let deep = head + [0x80, 0x02] + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E]
        try Data(deep).write(to: s.dir.appendingPathComponent("deep.pth"))
        let r = try sidenet(["inspect", "deep.pth"], cwd: s.dir)
        assertFails(r, containing: "deep.pth")
        XCTAssertTrue(r.stderr.contains("nested deeper than"), r.stderr)
        let two = Self.corpus.appendingPathComponent("torch/crash-storage-two-dtypes.pth").path
        let t = try sidenet(["inspect", two], cwd: s.dir)
        assertFails(t, containing: "tensor \"b\" reads storage 0 as F64")
        XCTAssertEqual(errorLines(t).count, 1, t.stderr)
    }

    func testModelSizesThatOverflowedAreRefusedNamingTheOption() throws {
        let s = CLIScratch("model-range"); defer { s.cleanup() }
        for (args, option) in [(["bert-large", "--seq-len", "10000000"], "--seq-len"),
                               (["resnet152", "--input-size", "10000000"], "--input-size"),
                               (["resnet18", "--hidden", "9223372036854775807"], "--hidden"),
                               (["bert-base", "--hidden", "-1"], "--hidden")] {
            assertFails(try sidenet(["model"] + args, cwd: s.dir), containing: "\(option) ")
        }
        // The largest allowed sizes still print a table.
        assertSucceeds(try sidenet(["model", "resnet152", "--input-size", "16384", "--hidden", "1000000"], cwd: s.dir))
        assertSucceeds(try sidenet(["model", "bert-large", "--seq-len", "65536"], cwd: s.dir))
    }

    /// Sizes in a config.json overflowed parameter and FLOP counts (signal 4) before they were bounded.
    func testConfigJSONSizesThatOverflowedAreRefusedNamingTheField() throws {
        let s = CLIScratch("model-config-range"); defer { s.cleanup() }
        let huge = #"{"model_type": "bert", "hidden_size": 4000000000, "num_hidden_layers": 2000000, "#
            + #""num_attention_heads": 1, "intermediate_size": 4000000000, "vocab_size": 4000000000}"#
        try huge.write(to: s.dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let r = try sidenet(["model", "config.json"], cwd: s.dir)
        assertFails(r, containing: #"field "hidden_size": expected an integer in 1...32768"#)
        XCTAssertEqual(errorLines(r).count, 1, r.stderr)
        let distil = #"{"model_type": "distilbert", "dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072, "#
            + #""vocab_size": 30522, "max_position_embeddings": 9223372036854775807}"#
        try distil.write(to: s.dir.appendingPathComponent("distil.json"), atomically: true, encoding: .utf8)
        assertFails(try sidenet(["model", "distil.json"], cwd: s.dir), containing: #"field "max_position_embeddings""#)
        // The largest sizes allowed still count without overflow at the longest allowed sequence.
        let largest = #"{"model_type": "bert", "hidden_size": 32768, "num_hidden_layers": 512, "num_attention_heads": 1024, "#
            + #""intermediate_size": 131072, "vocab_size": 16777216, "max_position_embeddings": 65536, "type_vocab_size": 1024}"#
        try largest.write(to: s.dir.appendingPathComponent("largest.json"), atomically: true, encoding: .utf8)
        assertSucceeds(try sidenet(["model", "largest.json", "--seq-len", "65536"], cwd: s.dir))
    }

    func testNegativeThreadsIsExplained() throws {
        let s = CLIScratch("threads"); defer { s.cleanup() }
        let r = try sidenet(["run", Self.demoSpec.path, "--threads", "-1", "--db", s.path("x.sqlite")], cwd: s.dir)
        assertFails(r, containing: "--threads must be at least 1, got -1")
        XCTAssertFalse(r.stderr.contains("Missing value"), r.stderr)
    }

    func testCheckRefusesATrainingSplitOfOneExample() throws {
        let s = CLIScratch("one-example"); defer { s.cleanup() }
        let text = try String(contentsOf: Self.demoSpec, encoding: .utf8)
            .replacingOccurrences(of: "{train: 6000, test: 2000}", with: "{train: 1001, test: 2000}")
        try s.write("one.yaml", text)
        let r = try sidenet(["check", "one.yaml"], cwd: s.dir)
        assertFails(r, containing: "data.limit.train")
        XCTAssertTrue(r.stderr.contains("one.yaml"), r.stderr)
    }

    func testRunnerRefusesATrainingSplitOfOneExampleBeforeTraining() throws {
        // 5 generated images, 4 held out for validation: the spec cannot know, the runner must.
        let s = CLIScratch("one-example-run"); defer { s.cleanup() }
        assertSucceeds(try sidenet(["data", "synth", "cifar10", "--out", "c", "--train", "5", "--test", "2"], cwd: s.dir))
        let text = try String(contentsOf: Self.demoSpec, encoding: .utf8)
            .replacingOccurrences(of: "path: data/synthetic/cifar-10-batches-bin", with: "path: c")
            .replacingOccurrences(of: "validation: 1000", with: "validation: 4")
            .replacingOccurrences(of: "  limit: {train: 6000, test: 2000}\n", with: "")
        try s.write("one.yaml", text)
        let r = try sidenet(["run", "one.yaml", "--db", s.path("r.sqlite"), "--seeds", "0", "--variant", "sidenet"], cwd: s.dir)
        XCTAssertFalse(r.signalled, "crashed: \(r.stderr)")
        XCTAssertTrue((r.stdout + r.stderr).contains("has 1 example(s) (data.limit.train / data.validation)"), r.stdout + r.stderr)
    }

    func testSpecFilesThatAreNotYAMLTextNameFileAndProblem() throws {
        let s = CLIScratch("spec-bytes"); defer { s.cleanup() }
        try (Data("name: caf".utf8) + Data([0xE9, 0x0A])).write(to: s.dir.appendingPathComponent("latin1.yaml"))
        assertFails(try sidenet(["check", "latin1.yaml"], cwd: s.dir), containing: "latin1.yaml:1: not UTF-8 text")
        try Data([0x7F, 0x45, 0x4C, 0x46, 0, 0, 0, 0]).write(to: s.dir.appendingPathComponent("binary.yaml"))
        assertFails(try sidenet(["check", "binary.yaml"], cwd: s.dir), containing: "binary.yaml: byte 4 is NUL")
        let demo = try String(contentsOf: Self.demoSpec, encoding: .utf8)
        try s.write("dup.yaml", demo + "seeds: [5]\n")
        let d = try sidenet(["check", "dup.yaml"], cwd: s.dir)
        assertFails(d, containing: "duplicate key 'seeds'")
        XCTAssertLessThan(d.stderr.count, 400, "echoes the document: \(d.stderr)")
        try s.write("big.yaml", demo + "# " + String(repeating: "y", count: 50_000_000) + "\n")
        let b = try sidenet(["check", "big.yaml"], cwd: s.dir)
        assertFails(b, containing: "big.yaml: file is 50")
        XCTAssertLessThan(b.stderr.count, 400)
        try FileManager.default.createDirectory(at: s.dir.appendingPathComponent("dir.yaml"), withIntermediateDirectories: false)
        assertFails(try sidenet(["check", "dir.yaml"], cwd: s.dir), containing: "dir.yaml: is a directory")
    }

    func testDirectoryFIFOAndLongHeaderInPlaceOfWeightsOrVocab() throws {
        let s = CLIScratch("file-kinds"); defer { s.cleanup() }
        try FileManager.default.createDirectory(at: s.dir.appendingPathComponent("weights.pth"), withIntermediateDirectories: false)
        let d = try sidenet(["inspect", "weights.pth"], cwd: s.dir)
        assertFails(d, containing: "weights.pth: cannot read: is a directory")
        XCTAssertFalse(d.stderr.contains("NSCocoaErrorDomain"), d.stderr)
        assertFails(try sidenet(["tokenize", "--vocab", "weights.pth"], cwd: s.dir), containing: "is a directory")
        // A FIFO must be refused at once, not read (which would block forever).
        XCTAssertEqual(mkfifo(s.path("pipe.safetensors"), 0o600), 0)
        let (p, _, err) = try startSidenet(["inspect", "pipe.safetensors"], cwd: s.dir, logName: "fifo")
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning { p.terminate(); p.waitUntilExit(); return XCTFail("inspect blocked on a FIFO") }
        XCTAssertNotEqual(p.terminationStatus, 0)
        XCTAssertTrue(try String(contentsOf: err, encoding: .utf8).contains("is a FIFO"))
        // safetensors whose header length runs past the end of the file.
        var bytes = [UInt8](try Data(contentsOf: Self.corpus.appendingPathComponent("safetensors/ok-small.safetensors")))
        bytes[0] = 0xFF; bytes[1] = 0xFF
        try Data(bytes).write(to: s.dir.appendingPathComponent("long.safetensors"))
        assertFails(try sidenet(["inspect", "long.safetensors"], cwd: s.dir), containing: "long.safetensors: invalid header length")
    }

    func testCIFARFilesOfWrongRecordCountAreRefusedForRealData() throws {
        let s = CLIScratch("cifar-count"); defer { s.cleanup() }
        let spec = try String(contentsOf: Self.demoSpec, encoding: .utf8)
            .replacingOccurrences(of: "path: data/synthetic/cifar-10-batches-bin", with: "path: c")
            .replacingOccurrences(of: "synthetic: true", with: "synthetic: false")
        try s.write("real.yaml", spec)
        for records in [5_000, 10_001] {
            let dir = s.dir.appendingPathComponent("c")
            try? FileManager.default.removeItem(at: dir)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for name in (1...5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
                // Sparse files of zeros (label 0): the size alone must be refused.
                let url = dir.appendingPathComponent(name)
                FileManager.default.createFile(atPath: url.path, contents: nil)
                let h = try FileHandle(forWritingTo: url)
                try h.truncate(atOffset: UInt64(records * 3_073))
                try h.close()
            }
            try s.write("c/batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n")
            let r = try sidenet(["run", "real.yaml", "--db", s.path("r.sqlite"), "--seeds", "0", "--variant", "sidenet"], cwd: s.dir)
            XCTAssertFalse(r.signalled)
            XCTAssertTrue((r.stdout + r.stderr).contains("data_batch_1.bin is \(records * 3_073) bytes, expected exactly 30,730,000"),
                          "\(records) records: \(r.stdout) \(r.stderr)")
        }
    }

    func testUnwritableOutputPathsAreRefusedBeforeWork() throws {
        let s = CLIScratch("out-paths"); defer { s.cleanup() }
        try s.write("plain-file", "x")
        // eval checks --out before reading the checkpoint (which does not exist here).
        let e = try sidenet(["eval", Self.demoSpec.path, "--checkpoint", "missing.safetensors", "--out", "no-such-dir/rows.csv"], cwd: s.dir)
        assertFails(e, containing: "--out no-such-dir/rows.csv: directory no-such-dir does not exist")
        let r = try sidenet(["report", "--db", s.path("r.sqlite"), "--out", "plain-file/plots", "--no-render"], cwd: s.dir)
        assertFails(r, containing: "--out plain-file/plots: plain-file is not a directory")
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"), r.stderr)
    }
}
