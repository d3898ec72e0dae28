import Foundation
import Runner
import Specs
import Store
import Tensors

/// `--threads` default: the CPUs Slurm gave the task (SLURM_CPUS_PER_TASK), else every core.
func defaultThreads() -> Int {
    if let s = ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"], let n = Int(s), n >= 1 { return n }
    return Threads.count
}

extension RunCommand {
    /// `sidenet run --dry-run`: the units this invocation would run (after --seeds, --variant,
    /// --shard) and their status in the database, then `pending: N` (units not finished).
    /// Reads the database only if it exists; creates nothing.
    func printPlan(_ specs: [ExperimentSpec], options: RunOptions, db: String) throws {
        var units = ShardPlan.units(specs, seeds: options.seeds, variants: options.variants)
        if let shard = options.shard { units = ShardPlan.select(units, shard: shard) }
        let store = FileManager.default.fileExists(atPath: db) ? try ResultStore(path: db, readOnly: true) : nil
        var status: [String: String] = [:]  // "experiment|variant|seed" -> status
        if let store {
            for spec in specs {
                for exp in try store.experiments(named: spec.name) where exp.specHash == spec.specHash {
                    for run in try store.runs(experiment: exp.id!) {
                        status["\(spec.name)|\(run.variant.rawValue)|\(run.seed)"] = run.status.rawValue
                    }
                }
            }
        }
        let scope = options.shard.map { "shard \($0)" } ?? "all units"
        print("\(scope): \(units.count) units, database \(db)\(store == nil ? " (absent)" : "")")
        var pending = 0
        for u in units {
            let s = status["\(u.experiment)|\(u.variant.rawValue)|\(u.seed)"] ?? "not started"
            if s != RunStatus.finished.rawValue { pending += 1 }
            print(pad(u.experiment, 24) + pad(u.variant.rawValue, 10) + pad("seed \(u.seed)", 9) + s)
        }
        print("pending: \(pending)")
    }
}
