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
