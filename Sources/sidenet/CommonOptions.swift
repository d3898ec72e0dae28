import ArgumentParser
import Foundation
import Specs
import Store

/// `--db`, shared by every command that touches the results database.
struct DatabaseOption: ParsableArguments {
    @Option(name: .long, help: "Results database (SQLite). `run` creates it with its schema when absent; list, show and report only read it.")
    var db: String = "results/sidenet.sqlite"

    /// For `run`: creates the database (and its folder) when absent, refuses one written by a
    /// newer sidenet, migrates an older one.
    func open() throws -> ResultStore {
        try ResultStore(path: db)
    }

    /// For commands that only read: never creates or migrates anything ("no database at PATH").
    func openReadOnly() throws -> ResultStore {
        try ResultStore(path: db, readOnly: true)
    }
}

/// Loads spec files, turning each error into one line that names the file.
func loadSpecs(_ paths: [String]) throws -> [ExperimentSpec] {
    try paths.map { path in
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("spec file not found: \(path)")
        }
        let spec = try ExperimentSpec.load(URL(fileURLWithPath: path))
        try spec.validate()
        return spec
    }
}

/// Standard error, for notes that must not mix with machine-readable stdout.
func printError(_ s: String) {
    FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
}

/// The checked-out commit, if this is a git work tree (recorded with each run).
func currentGitCommit() -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git", "rev-parse", "--short=12", "HEAD"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = Pipe()
    do { try p.run() } catch { return nil }
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    let s = String(data: out.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8)?
        .trimmingCharacters(in: .whitespacesAndNewlines)
    return (s?.isEmpty ?? true) ? nil : s
}

func percent(_ x: Double?) -> String { x.map { String(format: "%.2f", 100 * $0) } ?? "-" }

/// A one-line CLI error: ArgumentParser prints "Error: <description>" and exits 1 (no usage text).
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Refuses an output file that cannot be written, before any work is done: its folder must exist
/// and be writable, and the path itself must not be a directory.
func checkOutputFile(_ path: String, option: String) throws {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw CLIError("\(option) \(path): is a directory, expected a file path")
    }
    try checkWritableDirectory(parentDirectory(of: path), option: option, for: path, mayCreate: false)
}

/// Refuses an output folder that cannot be created or written: an existing path must be a
/// writable directory, otherwise its nearest existing ancestor must be one (it is created later).
func checkOutputDirectory(_ path: String, option: String) throws {
    try checkWritableDirectory(path, option: option, for: path, mayCreate: true)
}

private func checkWritableDirectory(_ dir: String, option: String, for path: String, mayCreate: Bool) throws {
    let fm = FileManager.default
    var current = dir
    var isDir: ObjCBool = false
    while !fm.fileExists(atPath: current, isDirectory: &isDir) {
        guard mayCreate else { throw CLIError("\(option) \(path): directory \(current) does not exist") }
        current = parentDirectory(of: current)
    }
    guard isDir.boolValue else { throw CLIError("\(option) \(path): \(current) is not a directory") }
    guard fm.isWritableFile(atPath: current) else { throw CLIError("\(option) \(path): directory \(current) is not writable") }
}

/// The folder holding `path`: "." for a bare name, "/" at the root. (Plain string logic:
/// Foundation's `deletingLastPathComponent` traps on some relative paths on Linux.)
func parentDirectory(of path: String) -> String {
    var p = Substring(path)
    while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
    guard let slash = p.lastIndex(of: "/") else { return "." }
    if slash == p.startIndex { return "/" }
    return String(p[..<slash])
}
