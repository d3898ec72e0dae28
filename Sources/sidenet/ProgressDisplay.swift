import Foundation
import Runner

/// Shows runner progress on stderr: a redrawn bar with rate and ETA on a terminal, or a plain
/// line every `interval` seconds when stderr is not a terminal (CI logs, nohup).
final class ProgressDisplay: ProgressSink {
    private let isTTY = isatty(STDERR_FILENO) == 1
    private let interval: TimeInterval
    private var label = ""
    private var unit = ""
    private var clock = ProgressClock(total: 0)
    private var lastDraw = Date.distantPast
    private var done = 0

    init(interval: TimeInterval = 10) { self.interval = interval }

    func begin(_ label: String, total: Int, unit: String) {
        self.label = label
        self.unit = unit
        clock = ProgressClock(total: total)
        done = 0
        lastDraw = isTTY ? .distantPast : Date()
    }

    func advance(to done: Int) {
        self.done = done
        let now = Date()
        let minGap = isTTY ? 0.1 : interval
        // Plain lines only every `interval`; the phase's last line comes from `end`.
        guard now.timeIntervalSince(lastDraw) >= minGap || (isTTY && done >= clock.total) else { return }
        lastDraw = now
        let rate = clock.rate(done: done, now: now)
        let eta = ProgressClock.format(seconds: clock.eta(done: done, now: now))
        let pct = clock.total > 0 ? Double(done) / Double(clock.total) : 1
        let stats = String(format: "%d/%d %@  %.1f %@/s  ETA %@", done, clock.total, unit, rate, unit, eta)
        if isTTY {
            let width = 28
            let filled = Int((pct * Double(width)).rounded(.down))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            write("\r\u{1B}[K\(label) [\(bar)] \(String(format: "%3.0f%%", pct * 100)) \(stats)")
        } else {
            write("\(label): \(stats)\n")
        }
    }

    func end(_ summary: String) {
        let elapsed = ProgressClock.format(seconds: Date().timeIntervalSince(clock.start))
        write((isTTY ? "\r\u{1B}[K" : "") + "\(label): \(summary) [\(elapsed)]\n")
    }

    func note(_ message: String) {
        write((isTTY ? "\r\u{1B}[K" : "") + message + "\n")
    }

    private func write(_ s: String) {
        FileHandle.standardError.write(s.data(using: .utf8)!)
    }
}
