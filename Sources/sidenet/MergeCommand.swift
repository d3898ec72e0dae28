import ArgumentParser
import Foundation
import Store

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge results databases (e.g. one per Slurm shard) into one.",
        discussion: """
        One transaction: either everything is merged or nothing. Experiments match on name and spec \
        hash, runs on (experiment, variant, seed). A finished run wins over an unfinished copy; two \
        finished copies with different results are refused, naming both. Merging again changes \
        nothing. Epochs, predictions and checkpoint rows are copied; checkpoint paths stay as recorded.
        """)

    @Argument(help: "Source databases (read only), e.g. results/slurm/demo/shard-*/sidenet.sqlite.")
    var sources: [String]

    @Option(help: "Destination database (created with its schema when absent).")
    var into: String

    func run() throws {
        for s in sources where !FileManager.default.fileExists(atPath: s) {
            throw ValidationError("source database not found: \(s)")
        }
        let store = try ResultStore(path: into)
        let report = try store.merge(sources: sources)
        for s in report.sources {
            print("\(s.path): \(s.experimentsAdded) experiments added, \(s.runsAdded) runs added, "
                  + "\(s.runsReplaced) replaced, \(s.runsUnchanged) already present")
            for c in s.changes { print("  \(c)") }
        }
        print(report.isNoOp ? "nothing new: \(into) already held everything" : "merged into \(into)")
    }
}
