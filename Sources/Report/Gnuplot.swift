import Foundation

/// Runs gnuplot scripts with Foundation `Process`.
public enum Gnuplot {
    /// The first executable `gnuplot` on PATH, or nil.
    public static func executable() -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("gnuplot")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// Runs each script inside `directory` (scripts use relative file names).
    /// Returns false without running anything when gnuplot is not on PATH; otherwise true.
    /// Throws `ReportError.gnuplotFailed` naming the script on a non-zero exit; gnuplot's
    /// stderr output of successful runs (warnings) is appended to `warnings` as "script: text".
    public static func render(scripts: [String], in directory: URL,
                              warnings: inout [String]) throws -> Bool {
        guard let exe = executable() else { return false }
        for script in scripts {
            let p = Process()
            p.executableURL = exe
            p.arguments = [script]
            p.currentDirectoryURL = directory
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            do { try p.run() } catch {
                throw ReportError.gnuplotLaunchFailed(script: script, detail: "\(error)")
            }
            // Read before waiting so a chatty gnuplot cannot fill the pipe and block.
            let data = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            if p.terminationStatus != 0 {
                throw ReportError.gnuplotFailed(script: script, status: p.terminationStatus, stderr: text)
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { warnings.append("\(script): \(trimmed)") }
        }
        return true
    }
}
