import Foundation
import XCTest

// Runs the real `sidenet` executable as a subprocess. The binary is the one SwiftPM built
// beside this test bundle (`swift build -c release --build-tests` builds every product), or
// the path in SIDENET_BIN. Each test works in its own temporary folder (`CLIScratch`).

/// What one invocation of the binary did.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
    /// True when the process ended by a signal (`status` then holds the signal number).
    let signalled: Bool
}

enum SidenetBinary {
    /// The built `sidenet` executable; fails the calling test with a clear message when absent.
    static let url: URL = {
        if let env = ProcessInfo.processInfo.environment["SIDENET_BIN"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        // The test bundle runs from .build/<config>/sidenetPackageTests.xctest on Linux and
        // from .build/<config>/sidenetPackageTests.xctest/Contents/MacOS/... on macOS.
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = dir.appendingPathComponent("sidenet")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "/nonexistent/sidenet")
    }()

    static func requireBuilt(file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            XCTFail("sidenet binary not found at \(url.path): build it with `swift build -c release --build-tests` or set SIDENET_BIN",
                    file: file, line: line)
            throw XCTSkip("no sidenet binary")
        }
    }
}

/// A temporary working folder for one test; removed by `cleanup()`.
final class CLIScratch {
    let dir: URL
    init(_ label: String) {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sidenet-cli-\(label)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    func path(_ relative: String) -> String { dir.appendingPathComponent(relative).path }
    func write(_ relative: String, _ text: String) throws {
        let url = dir.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }
    func cleanup() { try? FileManager.default.removeItem(at: dir) }
}

/// Starts `sidenet ARGS...` in `cwd` and returns the process (stdout/stderr go to files in
/// `cwd` named by `logName`), for tests that signal it while it runs.
func startSidenet(_ args: [String], cwd: URL, logName: String = "proc",
                  environment: [String: String] = [:]) throws -> (Process, URL, URL) {
    try SidenetBinary.requireBuilt()
    let p = Process()
    p.executableURL = SidenetBinary.url
    p.arguments = args
    p.currentDirectoryURL = cwd
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = cwd.appendingPathComponent("\(logName).stdout"), err = cwd.appendingPathComponent("\(logName).stderr")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    p.standardInput = FileHandle.nullDevice
    try p.run()
    return (p, out, err)
}

/// Runs `sidenet ARGS...` to completion in `cwd` and returns its exit status and output.
@discardableResult
func sidenet(_ args: [String], cwd: URL, environment: [String: String] = [:],
             file: StaticString = #filePath, line: UInt = #line) throws -> CLIResult {
    let (p, out, err) = try startSidenet(args, cwd: cwd, logName: "run-\(UUID().uuidString.prefix(6))",
                                         environment: environment)
    p.waitUntilExit()
    let stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(at: out)
    try? FileManager.default.removeItem(at: err)
    return CLIResult(status: p.terminationStatus, stdout: stdout, stderr: stderr,
                     signalled: p.terminationReason == .uncaughtSignal)
}

/// Asserts a command failed cleanly: non-zero exit (not a signal) and a message on stderr
/// containing `needle`.
func assertFails(_ r: CLIResult, containing needle: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertFalse(r.signalled, "crashed with signal \(r.status); stderr: \(r.stderr)", file: file, line: line)
    XCTAssertNotEqual(r.status, 0, "expected failure; stdout: \(r.stdout)", file: file, line: line)
    XCTAssertTrue(r.stderr.contains(needle), "stderr lacks '\(needle)': \(r.stderr)", file: file, line: line)
}

/// Asserts a command succeeded and returns its stdout.
@discardableResult
func assertSucceeds(_ r: CLIResult, file: StaticString = #filePath, line: UInt = #line) -> String {
    XCTAssertFalse(r.signalled, "crashed with signal \(r.status); stderr: \(r.stderr)", file: file, line: line)
    XCTAssertEqual(r.status, 0, "exit \(r.status); stderr: \(r.stderr)", file: file, line: line)
    return r.stdout
}

/// The tiny ResNet spec the CLI tests train (regime full, width 4, head and SideNet of 8) on
/// generated CIFAR-format data (synthetic stand-in data, not CIFAR-10); fields vary per test.
struct TinyResNetSpec {
    var name: String
    var description: String? = nil
    var seeds: [Int] = [0]
    var variants: [String] = ["sidenet", "baseline"]
    var dataPath = "data"
    var validation = 40
    var limit: (train: Int, test: Int)? = nil
    var lr = "1.0e-3"
    var epochs = 1
    var batchSize = 16
    var alpha = "1.0"
    var evaluationBatch: Int? = 64
    /// Lines under `paper:`, already indented by two spaces.
    var paper: String? = nil

    var yaml: String {
        var lines = ["name: \(name)"]
        if let d = description { lines.append("description: \(d)") }
        lines += [
            "seeds: [\(seeds.map(String.init).joined(separator: ", "))]",
            "variants: [\(variants.joined(separator: ", "))]",
            "data: {dataset: cifar10, path: \(dataPath), synthetic: true, validation: \(validation), input_size: 32, normalize: imagenet"
                + (limit.map { ", limit: {train: \($0.train), test: \($0.test)}" } ?? "") + "}",
            "mainnet:",
            "  arch: resnet",
            "  config: {blocks: [1, 1, 1, 1], width: 4, block: basic}",
            "  weights: null",
            "  head: {hidden: 8}",
            "sidenet: {attach: layer1, hidden: 8}",
            "training:",
            "  regime: full",
            "  optimizer: {name: adam, lr: \(lr), weight_decay: 0}",
            "  epochs: \(epochs)",
            "  batch_size: \(batchSize)",
            "  plateau: {factor: 0.5, patience: 5}",
            "  alpha: \(alpha)",
        ]
        if let b = evaluationBatch { lines.append("evaluation: {batch_size: \(b)}") }
        if let p = paper { lines += ["paper:", p] }
        return lines.joined(separator: "\n") + "\n"
    }
}
