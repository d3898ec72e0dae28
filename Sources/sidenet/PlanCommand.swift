import ArgumentParser
import Foundation
import Runner
import Specs
import Tensors

/// `sidenet plan SPEC...`: what running these specs costs on this machine, before committing to it.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Estimate the hours these experiments take here, from a few timed steps of each real model.",
        discussion: """
            For each spec: a few timed training steps (forward, backward, Adam) and evaluation batches \
            of the spec's architecture at its batch sizes and input size (weights are not needed; \
            random weights of the same shape cost the same; the data is used when present, else the \
            data set's documented sizes and, for text, --seq-len or data.max_length tokens). Prints per \
            experiment and in total: runs, examples x epochs, hours on this machine, and wall hours on \
            N machines of this speed (runs spread longest first). With --budget-hours H it exits with \
            status 3 when the total exceeds H hours (reproduce.sh asks for --yes then).
            """)

    @Argument(help: "Experiment spec files (YAML), e.g. experiments/paper/*.yaml.")
    var specs: [String]

    @Option(help: "Timed batches per measurement (after one warm-up batch).")
    var steps: Int = 2

    @Option(help: "Machine counts for the wall-time columns, comma-separated.")
    var machines: String = "1,10"

    @Option(help: "Tokens per sentence when the text data is absent (default: the spec's data.max_length).")
    var seqLen: Int?

    @Option(help: "Threads for OpenBLAS and sidenet's loops (default: all cores).")
    var threads: Int = Threads.count

    @Option(help: "Exit with status 3 after printing when the total exceeds this many hours.")
    var budgetHours: Double?

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if machineCounts == nil { throw ValidationError("--machines must be comma-separated positive integers, not '\(machines)'") }
        if let s = seqLen, s < 3 { throw ValidationError("--seq-len must be at least 3") }
        if let b = budgetHours, !(b > 0) { throw ValidationError("--budget-hours must be positive") }
    }

    private var machineCounts: [Int]? {
        let parts = machines.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) >= 1 }) else { return nil }
        return parts.compactMap { $0 }
    }

    func run() throws {
        let loaded = try loadSpecs(specs)
        Threads.set(threads)
        // Line-buffered stdout: each experiment's row appears as soon as it is measured, also when
        // the output goes to a pipe or file (reproduce.sh, tee), not all at the end.
        setvbuf(stdout, nil, _IOLBF, 0)
        let counts = machineCounts ?? [1]
        let base = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        var estimates: [PlanEstimate] = []
        print("measuring \(loaded.count) experiment(s) on this machine (\(threads) threads, \(steps) timed batches each)")
        print(headerLine(counts))
        let started = Date()
        for (i, spec) in loaded.enumerated() {
            let r = try PlanProbe.measure(spec, baseDir: base, steps: steps, seqLen: seqLen)
            let e = PlanMath.estimate(r.workload, r.throughput)
            estimates.append(e)
            print(rowLine(e, counts))
            print("    train \(fmt(r.throughput.trainPerSecond)) ex/s, eval \(fmt(r.throughput.evalPerSecond)) ex/s"
                  + (r.workload.featurePasses > 0 ? ", feature pass \(fmt(r.throughput.featurePerSecond)) ex/s" : "")
                  + " (\(r.note))")
            let elapsed = Date().timeIntervalSince(started)
            let eta = elapsed / Double(i + 1) * Double(loaded.count - i - 1)
            printError(String(format: "plan: measured %d/%d experiments in %.0f s, about %.0f s to go", i + 1, loaded.count, elapsed, eta))
        }
        print(totalLine(estimates, counts))
        for n in counts {
            print(String(format: "wall time on %d machine%@ of this speed: %@ hours", n, n == 1 ? "" : "s",
                         hours(PlanMath.wallSeconds(estimates, machines: n) / 3600)))
        }
        let total = estimates.reduce(0) { $0 + $1.totalSeconds } / 3600
        if let b = budgetHours, total > b {
            printError(String(format: "plan: %.1f hours here exceeds the budget of %.1f hours", total, b))
            throw ExitCode(3)
        }
    }

    private func headerLine(_ counts: [Int]) -> String {
        var header = pad("experiment", 28) + pad("regime", 8) + pad("runs", 6) + pad("examples x epochs", 20)
            + pad("h/run", 9) + pad("hours here", 11)
        for n in counts where n > 1 { header += pad("wall h, \(n) machines", 22) }
        return header
    }

    private func rowLine(_ e: PlanEstimate, _ counts: [Int]) -> String {
        let w = e.workload
        var line = pad(w.experiment, 28) + pad(w.regime, 8) + pad("\(w.runs)", 6)
            + pad("\(w.trainExamples) x \(w.epochs)", 20) + pad(hours(e.secondsPerRun / 3600), 9) + pad(hours(e.hours), 11)
        for n in counts where n > 1 { line += pad(hours(PlanMath.wallSeconds([e], machines: n) / 3600), 22) }
        return line
    }

    private func totalLine(_ estimates: [PlanEstimate], _ counts: [Int]) -> String {
        let total = estimates.reduce(0) { $0 + $1.totalSeconds } / 3600
        let trained = estimates.reduce(0) { $0 + $1.workload.trainedExamples }
        var line = pad("total", 28) + pad("", 8) + pad("\(estimates.reduce(0) { $0 + $1.workload.runs })", 6)
            + pad("\(trained) trained", 20) + pad("", 9) + pad(hours(total), 11)
        for n in counts where n > 1 { line += pad(hours(PlanMath.wallSeconds(estimates, machines: n) / 3600), 22) }
        return line
    }

    private func fmt(_ x: Double) -> String { x >= 100 ? String(format: "%.0f", x) : String(format: "%.2f", x) }
    private func hours(_ h: Double) -> String {
        h >= 10 ? String(format: "%.0f", h) : h >= 0.1 ? String(format: "%.2f", h) : String(format: "%.4f", h)
    }
}
