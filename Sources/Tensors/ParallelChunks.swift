import CBLAS
import Dispatch

/// Runs `body(chunk, range)` over `0..<n` split into `chunks` contiguous ranges, one per thread,
/// so that each chunk can own a private accumulator indexed by `chunk`.
/// `chunks` is clamped to `1...min(n, Threads.count)`; use `plannedChunks(n)` to size buffers.
public func parallelChunks(_ n: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
    if n <= 0 { return }
    let chunks = plannedChunks(n)
    if chunks == 1 { body(0, 0..<n); return }
    let size = (n + chunks - 1) / chunks
    DispatchQueue.concurrentPerform(iterations: chunks) { t in
        let lo = t * size, hi = Swift.min(n, lo + size)
        if lo < hi { body(t, lo..<hi) }
    }
}

/// The number of chunks `parallelChunks(n)` uses.
public func plannedChunks(_ n: Int) -> Int { Swift.max(1, Swift.min(n, Threads.count)) }

/// Runs `body` with OpenBLAS limited to `n` threads (e.g. 1 inside a `parallelChunks` region, to
/// avoid oversubscription), then restores `Threads.count`.
public func withBLASThreads<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
    openblas_set_num_threads(Int32(Swift.max(1, n)))
    defer { openblas_set_num_threads(Int32(Threads.count)) }
    return try body()
}
