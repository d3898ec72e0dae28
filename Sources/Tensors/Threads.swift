import CBLAS
import Dispatch
import Foundation

/// The thread setting shared by OpenBLAS and sidenet's own loops. Defaults to all cores.
public enum Threads {
    nonisolated(unsafe) private static var current: Int = {
        _ = HeapPolicy.applied
        _ = BLASWaitPolicy.applied
        let n = ProcessInfo.processInfo.activeProcessorCount
        openblas_set_num_threads(Int32(n))
        return n
    }()

    public static var count: Int { current }

    /// Sets the number of threads for OpenBLAS and for `parallelFor`.
    public static func set(_ n: Int) {
        let n = Swift.max(1, n)
        current = n
        openblas_set_num_threads(Int32(n))
    }
}

/// Runs `body` over `0..<n` split into contiguous chunks, on up to `Threads.count` threads.
/// `minChunk` keeps tiny loops on one thread.
@inline(__always)
public func parallelFor(_ n: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    if n <= 0 { return }
    let threads = Swift.min(Threads.count, Swift.max(1, n / Swift.max(1, minChunk)))
    if threads <= 1 {
        body(0..<n)
        return
    }
    let chunk = (n + threads - 1) / threads
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        let lo = t * chunk
        let hi = Swift.min(n, lo + chunk)
        if lo < hi { body(lo..<hi) }
    }
}
