import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process that holds a run's claim (columns `owner_host`, `owner_machine`, `owner_pid`,
/// `owner_started` of migration "v3-claim-owner").
///
/// On the same machine a claim is as alive as its process: a claim whose process is gone (or
/// whose pid now belongs to a newer process: the start time differs) is taken over at once. A
/// claim from another machine can only be judged by its heartbeat.
public struct ClaimOwner: Equatable, Sendable {
    /// Host name (for people: `sidenet list` shows it).
    public var host: String
    /// Kernel boot id and pid namespace (`<boot_id>/pid:[inode]`): two processes can compare
    /// pids only when both are equal. Empty when unknown (then pids are never compared).
    public var machine: String
    public var pid: Int32
    /// Start time of `pid` in clock ticks after boot (/proc/PID/stat field 22); nil when unknown.
    public var started: Int64?

    public init(host: String, machine: String, pid: Int32, started: Int64?) {
        self.host = host; self.machine = machine; self.pid = pid; self.started = started
    }

    /// This process.
    public static func current() -> ClaimOwner {
        let pid = ProcessInfo.processInfo.processIdentifier
        return ClaimOwner(host: ProcessInfo.processInfo.hostName, machine: machineIdentity(),
                          pid: pid, started: startTime(pid: pid))
    }

    /// Whether this claim's process still runs, judged from `observer` (the current process):
    /// true or false on the same machine, nil from another machine (or when it cannot tell).
    public func isAlive(seenFrom observer: ClaimOwner) -> Bool? {
        guard !machine.isEmpty, machine == observer.machine, host == observer.host, pid > 0 else { return nil }
        if let started {
            // the pid is running and is still the same process (not a reused pid)
            return ClaimOwner.startTime(pid: pid) == started
        }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Start time of `pid` (clock ticks after boot, field 22 of /proc/PID/stat), nil if the
    /// process does not exist or /proc is unavailable.
    public static func startTime(pid: Int32) -> Int64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // fields after "pid (comm)" start with field 3 (state); field 22 is the 20th of them
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? Int64(fields[19]) : nil
    }

    /// `<boot_id>/<pid namespace>` of this process, or "" when /proc does not tell.
    static func machineIdentity() -> String {
        guard let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !boot.isEmpty,
              let ns = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid") else { return "" }
        return "\(boot)/\(ns)"
    }
}
