import Foundation

/// Now, in seconds, on the clock `bench models --clock` names: "wall" (monotonic elapsed time) or
/// "cpu" (CPU time of all the process's threads, CLOCK_PROCESS_CPUTIME_ID).
func benchClock(_ clock: String) -> Double {
    var ts = timespec()
    clock_gettime(clock == "cpu" ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
