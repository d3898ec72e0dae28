import ArgumentParser
import Foundation
import Layers
import Tensors

/// `sidenet bench ...`: micro-benchmarks. Subcommands live in their own files (`kernels` here).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernel and model throughput.",
        subcommands: [BenchKernels.self, BenchModels.self, BenchHeads.self])
}

/// `sidenet bench kernels`: sgemm vs the three convolution passes with the same GEMM shapes.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "sgemm and Conv2d forward / backward-data / backward-weight GFLOP/s on ResNet shapes.")

    @Option(parsing: .unconditional, help: "Threads for OpenBLAS and sidenet loops.") var threads: Int = 2
    @Option(name: .customLong("repeat"), help: "Timed repeats per kernel (best is reported) after one warm-up.") var repeats: Int = 5
    @Option(help: "Override ConvTuning.minColumns (GEMM width below which images are grouped).") var minColumns: Int?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard repeats >= 1 else { throw ValidationError("--repeat must be at least 1, got \(repeats)") }
    }

    /// Wall time in seconds of one run.
    func time(_ body: () -> Void) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
    }

    func run() throws {
        Threads.set(threads)
        if let minColumns { ConvTuning.minColumns = minColumns }
        // (channels, spatial size, images): 3x3 stride-1 padding-1 convs with GEMM M x K x N = C x 9C x N·H·W.
        let shapes: [(c: Int, hw: Int, n: Int)] = [(64, 32, 8), (128, 16, 8), (512, 4, 8), (256, 8, 8)]
        print("threads \(threads), best of \(repeats) after warm-up, ConvTuning.minColumns \(ConvTuning.minColumns)")
        print("| M x K x N | conv | sgemm GF/s | fwd GF/s (ratio) | bwd-data GF/s (ratio) | bwd-weight GF/s (ratio) |")
        print("|---|---|---|---|---|---|")
        var rng = SeededGenerator(seed: 1)
        for s in shapes {
            let (m, k, n) = (s.c, 9 * s.c, s.n * s.hw * s.hw)
            let flops = 2 * Double(m) * Double(k) * Double(n)
            let a = Tensor.normal([m, k], rng: &rng), b = Tensor.normal([k, n], rng: &rng)
            var c = Tensor(zeros: [m, n])
            let x = Tensor.normal([s.n, s.c, s.hw, s.hw], rng: &rng)
            let w = Tensor.normal([s.c, s.c, 3, 3], rng: &rng)
            let dy = Tensor.normal([s.n, s.c, s.hw, s.hw], rng: &rng)
            var dw = Tensor(zeros: w.shape)
            // One warm-up round, then `repeats` rounds; the four kernels alternate within a round
            // so that load from other processes hits them alike. Best time of each is kept.
            var tG = Double.infinity, tF = Double.infinity, tD = Double.infinity, tW = Double.infinity
            for round in 0...repeats {
                let g = time {
                    a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in c.data.withUnsafeMutableBufferPointer { pc in
                        sgemm(m: m, n: n, k: k, a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!)
                    } } }
                }
                let f = time { _ = conv2dForward(x, weight: w, bias: nil, stride: 1, padding: 1) }
                let d = time { _ = conv2dBackwardData(dy, weight: w, inputShape: x.shape, stride: 1, padding: 1) }
                let wt = time { conv2dBackwardWeight(dy, input: x, kernelSize: 3, stride: 1, padding: 1, into: &dw) }
                if round > 0 { tG = min(tG, g); tF = min(tF, f); tD = min(tD, d); tW = min(tW, wt) }
            }
            let g = flops / tG * 1e-9
            func cell(_ t: Double) -> String {
                let v = flops / t * 1e-9
                return String(format: "%.1f (%.2f)", v, v / g)
            }
            print("| \(m) x \(k) x \(n) | \(s.c)->\(s.c) 3x3, \(s.n)x\(s.hw)x\(s.hw) | \(String(format: "%.1f", g)) | \(cell(tF)) | \(cell(tD)) | \(cell(tW)) |")
        }
    }
}
