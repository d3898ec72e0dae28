import ArgumentParser
import Foundation
import Store

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List experiments and their runs with status and test accuracies.")

    @OptionGroup var database: DatabaseOption

    func run() throws {
        let store = try database.openReadOnly()
        let experiments = try store.experiments()
        if experiments.isEmpty { print("no experiments in \(database.db)"); return }
        for e in experiments {
            print("\(e.name)  (spec \(e.specHash.prefix(12)), registered \(e.createdAt))")
            let runs = try store.runs(experiment: e.id!)
            if runs.isEmpty { print("    no runs"); continue }
            print("    " + pad("run", 6) + pad("variant", 10) + pad("seed", 6) + pad("status", 13) + pad("epochs", 8)
                  + pad("best", 6) + pad("main %", 8) + "side %")
            for r in runs {
                let epochs = (try? store.epochs(runId: r.id!).count) ?? 0
                print("    " + pad("\(r.id!)", 6) + pad(r.variant.rawValue, 10) + pad("\(r.seed)", 6)
                      + pad(r.status.rawValue, 13) + pad("\(epochs)", 8) + pad(r.bestEpoch.map { "\($0)" } ?? "-", 6)
                      + pad(percent(r.testAccMain), 8) + percent(r.testAccSide))
                if let reason = r.reason, r.status != .finished { print("        \(reason)") }
                if r.status == .running, let o = r.claimOwner {
                    print("        claimed by process \(o.pid) on \(o.host), heartbeat \(r.heartbeatAt ?? "-")")
                }
            }
        }
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one run: its spec and the per-epoch table (losses, accuracies, learning rate).")

    @Argument(help: "Run id (see `sidenet list`).")
    var runID: Int64

    @OptionGroup var database: DatabaseOption

    func run() throws {
        let store = try database.openReadOnly()
        guard let r = try store.run(id: runID) else { throw ValidationError("no run \(runID) in \(database.db)") }
        let e = try store.experiment(id: r.experimentId)
        print("run \(runID): \(e?.name ?? "?") \(r.variant.rawValue) seed \(r.seed), \(r.status.rawValue)"
              + (r.reason.map { " (\($0))" } ?? ""))
        print("regime \(r.regime ?? "-"), host \(r.host ?? "-"), threads \(r.threads.map { "\($0)" } ?? "-"), "
              + "commit \(r.gitCommit ?? "-"), started \(r.startedAt ?? "-"), finished \(r.finishedAt ?? "-")")
        if let p = r.paramsMainnet {
            print("parameters: prefix \(r.paramsPrefix ?? 0), SideNet \(r.paramsSidenet ?? 0), MainNet \(p); "
                  + "test accuracy MainNet \(percent(r.testAccMain))%, SideNet \(percent(r.testAccSide))%, best epoch \(r.bestEpoch.map { "\($0)" } ?? "-")")
        }
        print("")
        print(pad("epoch", 7) + pad("train L_M", 11) + pad("train L_S", 11) + pad("val L_M", 10) + pad("val L_S", 10)
              + pad("val acc M", 11) + pad("val acc S", 11) + pad("lr", 11) + "seconds")
        func f(_ x: Double?) -> String { x.map { String(format: "%.4f", $0) } ?? "-" }
        for ep in try store.epochs(runId: runID) {
            print(pad("\(ep.epoch)", 7) + pad(f(ep.trainLossMain), 11) + pad(f(ep.trainLossSide), 11) + pad(f(ep.valLossMain), 10)
                  + pad(f(ep.valLossSide), 10) + pad(percent(ep.valAccMain), 11) + pad(percent(ep.valAccSide), 11)
                  + pad(String(format: "%.3g", ep.lr), 11) + String(format: "%.1f", ep.seconds))
        }
        if let e {
            print("\nspec (canonical JSON, hash \(e.specHash)):\n\(e.specJSON)")
        }
    }
}
