import Foundation

/// Where long work reports progress. The runner calls it; the CLI decides how to show it
/// (a bar with rate and ETA on a terminal, plain periodic lines otherwise).
public protocol ProgressSink: AnyObject {
    /// A new phase of `total` units (`unit`: "img", "batch", "seq").
    func begin(_ label: String, total: Int, unit: String)
    /// `done` units of the current phase are complete.
    func advance(to done: Int)
    /// The current phase ended; `summary` is one line to keep.
    func end(_ summary: String)
    /// A one-line message (run skipped, resumed, failed ...).
    func note(_ message: String)
}

/// Discards everything (tests, library use).
public final class SilentProgress: ProgressSink {
    public init() {}
    public func begin(_ label: String, total: Int, unit: String) {}
    public func advance(to done: Int) {}
    public func end(_ summary: String) {}
    public func note(_ message: String) {}
}

/// Rate and ETA arithmetic shared by every display.
public struct ProgressClock {
    public let start: Date
    public let total: Int
    public init(total: Int, start: Date = Date()) { self.total = total; self.start = start }

    public func rate(done: Int, now: Date = Date()) -> Double {
        let dt = now.timeIntervalSince(start)
        return dt > 0 ? Double(done) / dt : 0
    }

    /// Seconds left at the current rate, nil before any progress.
    public func eta(done: Int, now: Date = Date()) -> Double? {
        let r = rate(done: done, now: now)
        return done > 0 && r > 0 ? Double(total - done) / r : nil
    }

    public static func format(seconds: Double?) -> String {
        guard let s = seconds, s.isFinite else { return "--:--" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
                         : String(format: "%02d:%02d", t / 60, t % 60)
    }
}
