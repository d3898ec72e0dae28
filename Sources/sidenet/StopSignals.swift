import Dispatch
import Foundation
import Runner

/// SIGINT (Ctrl-C) and SIGTERM (`kill`, Slurm preemption, systemd) both ask `sidenet run` to
/// stop: the current batch is dropped, committed epochs are kept, the run is marked interrupted
/// and the process exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM). A
/// second signal exits at once with the same status. The signals are received through dispatch
/// sources, so the handlers run as ordinary code on a dispatch thread, not in signal context.
enum StopSignals {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    nonisolated(unsafe) private static var count = 0
    private static let lock = NSLock()

    /// Routes SIGINT and SIGTERM to `stop` until the process exits.
    static func install(_ stop: StopSignal) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)  // the dispatch source receives it instead of the default action
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                lock.lock()
                count += 1
                let again = count > 1
                lock.unlock()
                if again { _exit(128 + sig) }
                stop.request(signal: sig)
                let name = sig == SIGTERM ? "SIGTERM" : "Ctrl-C"
                printError("\n\(name): stopping after the current batch; committed epochs are kept "
                           + "(signal again to quit at once)")
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Exit status of a run stopped by `signal`: 128 + the signal number.
    static func exitStatus(_ signal: Int32) -> Int32 { 128 + signal }
}
