#if os(Linux)
import Glibc
#endif

/// OpenBLAS's idle worker threads spin (sched_yield) for 2^28 TSC cycles (~0.1 s) after each
/// GEMM before they sleep. A training step alternates GEMMs with sidenet's own parallel loops, so
/// the worker never slept: it spun beside the two loop threads on two cores (~15% of the CPU
/// samples of a ResNet18 training step were sched_yield). Like PyTorch's passive OpenMP wait, the
/// workers now spin 2^18 cycles (~0.1 ms: back-to-back GEMMs still find them awake) and then
/// sleep. A user's OPENBLAS_THREAD_TIMEOUT is left alone. The timeout is read when OpenBLAS starts
/// its threads (at load time), so its environment is re-read and its threads restarted once,
/// before the first kernel runs (from `Threads`); an OpenBLAS without these entry points is left
/// as it is. Same GEMM results either way (only the idle wait changes).
public enum BLASWaitPolicy {
    /// log2 of the spin time in TSC cycles (OpenBLAS clamps it to 4...30).
    public static let spinLog2 = 18

    /// Whether the spin time was set here (false: a user's setting, or no such OpenBLAS).
    public static let applied: Bool = {
        #if os(Linux)
        guard getenv("OPENBLAS_THREAD_TIMEOUT") == nil,
              let handle = dlopen(nil, RTLD_NOW),
              let readEnv = dlsym(handle, "openblas_read_env"),
              let shutdown = dlsym(handle, "blas_thread_shutdown_"),
              let start = dlsym(handle, "blas_thread_init") else { return false }
        typealias Call = @convention(c) () -> Int32
        setenv("OPENBLAS_THREAD_TIMEOUT", "\(spinLog2)", 0)
        unsafeBitCast(readEnv, to: (@convention(c) () -> Void).self)()
        _ = unsafeBitCast(shutdown, to: Call.self)()
        _ = unsafeBitCast(start, to: Call.self)()
        return true
        #else
        return false
        #endif
    }()
}
