import ArgumentParser
import CHeadKernels
import Foundation
import Tensors

/// `sidenet bench heads`: the head kernels of training on cached features (`CHeadKernels`, as one
/// lockstep lane runs them, on one thread) over generated stand-in feature rows: per step, the
/// first Linear's forward on a random batch of rows, its weight gradient (into a zeroed gradient)
/// and Adam's element update of that weight. Prints milliseconds per step and GFLOP/s on this
/// thread's CPU clock (robust to other processes) and on the wall clock.
struct BenchHeads: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heads",
        abstract: "Head-kernel ms/step and GFLOP/s on generated stand-in feature rows (one thread).")

    @Option(help: "Feature columns (the first Linear's inputs; 16384 for the ResNet50 SideNet).") var cols: Int = 16384
    @Option(help: "Stand-in feature rows to pick batches from (more than the caches hold: rows come from memory).")
    var rows: Int = 8000
    @Option(help: "Rows per batch.") var batch: Int = 128
    @Option(help: "Outputs of the first Linear (the hidden width).") var out: Int = 32
    @Option(help: "Row element type: float16 or float32.") var dtype: String = "float16"
    @Option(help: "Timed steps per repeat (after 3 untimed ones).") var steps: Int = 50
    @Option(name: .customLong("repeat"), help: "Repeats (the best of each kernel is reported).") var repeats: Int = 3

    func validate() throws {
        for (name, v, least) in [("--cols", cols, 1), ("--batch", batch, 1), ("--out", out, 1), ("--steps", steps, 1),
                                 ("--repeat", repeats, 1)] where v < least {
            throw ValidationError("\(name) must be at least \(least), got \(v)")
        }
        guard rows >= batch else { throw ValidationError("--rows must be at least --batch (\(batch)), got \(rows)") }
        guard ["float16", "float32"].contains(dtype) else {
            throw ValidationError("--dtype must be float16 or float32, got '\(dtype)'")
        }
        let bytes = Double(rows) * Double(cols) * (dtype == "float16" ? 2 : 4)
        guard bytes <= 8e9 else { throw ValidationError("--rows x --cols: \(Int(bytes / 1e9)) GB of stand-in rows, above 8 GB") }
    }

    /// This thread's CPU seconds.
    private func threadCPU() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    func run() throws {
        let half = dtype == "float16"
        var rng = SeededGenerator(seed: 12)
        // generated stand-in rows (uniform in [-1, 1)), not features of any network
        let table = half ? [] : Tensor.uniform([rows * cols], low: -1, high: 1, rng: &rng).data
        let f16 = half ? (0..<(rows * cols)).map { _ in Float16(rng.nextFloat() * 2 - 1).bitPattern } : []
        var w = Tensor.uniform([out * cols], low: -0.01, high: 0.01, rng: &rng).data
        var g = [Float](repeating: 0, count: out * cols), m = g, v = g
        var y = [Float](repeating: 0, count: batch * out)
        let level = ["portable", "AVX2+FMA+F16C", "AVX-512F+VL"][Int(hk_level())]
        print("head kernels (\(level) bodies, one thread) on generated stand-in rows: \(rows) x \(cols) \(dtype), "
              + "batches of \(batch) -> \(out), \(steps) steps, best of \(repeats)")
        var best = [Double](repeating: .infinity, count: 6)  // cpu fwd, wgrad, adam; wall fwd, wgrad, adam
        for _ in 0..<repeats {
            var t = [Double](repeating: 0, count: 6)
            for s in 0..<(steps + 3) {
                let idx = (0..<batch).map { _ in Int(rng.next() % UInt64(rows)) }
                let dy = (0..<(batch * out)).map { _ in Float(Int(rng.next() % 2001) - 1000) * 1e-6 }
                let c0 = threadCPU(), w0 = benchClock("wall")
                let run: (UnsafeRawPointer, Int32) -> Void = { base, dt in
                    hk_rows_linear_forward(base, dt, cols, idx, batch, w, nil, out, &y)
                }
                if half { f16.withUnsafeBytes { run($0.baseAddress!, Int32(HK_F16)) } } else {
                    table.withUnsafeBytes { run($0.baseAddress!, Int32(HK_F32)) }
                }
                let c1 = threadCPU(), w1 = benchClock("wall")
                g.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                let grad: (UnsafeRawPointer, Int32) -> Void = { base, dt in
                    hk_rows_linear_weight_grad(base, dt, cols, idx, batch, dy, out, &g, 1, 0, cols)
                }
                if half { f16.withUnsafeBytes { grad($0.baseAddress!, Int32(HK_F16)) } } else {
                    table.withUnsafeBytes { grad($0.baseAddress!, Int32(HK_F32)) }
                }
                let c2 = threadCPU(), w2 = benchClock("wall")
                hk_adam_update(&w, g, &m, &v, out * cols, 0, 0.1, 0.999, 0.001, 0.5, 1e-8, -3e-4)
                let c3 = threadCPU(), w3 = benchClock("wall")
                if s >= 3 {
                    for (k, d) in [c1 - c0, c2 - c1, c3 - c2, w1 - w0, w2 - w1, w3 - w2].enumerated() { t[k] += d }
                }
            }
            for k in 0..<6 { best[k] = min(best[k], t[k] / Double(steps)) }
        }
        let flops = 2 * Double(batch) * Double(cols) * Double(out)
        func line(_ name: String, _ k: Int, gflops: Bool) -> String {
            var s = String(format: "%@: %.3f ms/step CPU, %.3f wall", name, best[k] * 1e3, best[k + 3] * 1e3)
            if gflops { s += String(format: "; %.1f GFLOP/s CPU, %.1f wall", flops / best[k] * 1e-9, flops / best[k + 3] * 1e-9) }
            return s
        }
        print(line("forward", 0, gflops: true))
        print(line("weight gradient", 1, gflops: true))
        print(line("adam update", 2, gflops: false))
    }
}
