import ArgumentParser
import Foundation
import Runner

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a checkpoint on a split and write one CSV row per example.",
        discussion: """
        Columns: index,label,side_pred,side_conf,main_pred,main_conf, then side_logit_0..K-1 and \
        main_logit_0..K-1 (one side_logit / main_logit column for a binary task). Side columns are \
        empty for a checkpoint without a SideNet.
        """)

    @Argument(help: "The experiment spec the checkpoint belongs to.")
    var spec: String

    @Option(help: "Checkpoint (safetensors with the harness's names).")
    var checkpoint: String

    @Option(help: "Split: test, validation or train.")
    var split: String = "test"

    @Option(help: "Output CSV file.")
    var out: String

    func run() throws {
        try checkOutputFile(out, option: "--out")  // before the evaluation, not after it
        let s = try loadSpecs([spec])[0]
        guard FileManager.default.fileExists(atPath: checkpoint) else { throw ValidationError("checkpoint not found: \(checkpoint)") }
        let rows = try Runner.evaluate(spec: s, checkpoint: URL(fileURLWithPath: checkpoint), split: split,
                                       baseDir: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                                       progress: ProgressDisplay())
        let k = rows.first?.mainLogits.count ?? 0
        func cols(_ p: String) -> [String] { k == 1 ? [p] : (0..<k).map { "\(p)_\($0)" } }
        var text = (["index", "label", "side_pred", "side_conf", "main_pred", "main_conf"] + cols("side_logit") + cols("main_logit"))
            .joined(separator: ",") + "\n"
        for r in rows {
            var f = ["\(r.index)", "\(r.label)", r.sidePred.map { "\($0)" } ?? "", r.sideConf.map { "\($0)" } ?? "",
                     "\(r.mainPred)", "\(r.mainConf)"]
            f += r.sideLogits.map { $0.map { "\($0)" } } ?? [String](repeating: "", count: k)
            f += r.mainLogits.map { "\($0)" }
            text += f.joined(separator: ",") + "\n"
        }
        do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
            throw CLIError("--out \(out): cannot write: \((error as NSError).localizedFailureReason ?? error.localizedDescription)")
        }
        print("wrote \(rows.count) rows to \(out)")
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate specs and list every data or weight file they need that is missing, with where to get it.")

    @Argument(help: "Experiment spec files (YAML).")
    var specs: [String]

    func run() throws {
        let loaded = try loadSpecs(specs)
        let base = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        var missing = 0
        for s in loaded {
            let m = Runner.missingFiles(s, baseDir: base)
            missing += m.count
            print("\(s.name): " + (m.isEmpty ? "all files in place" : "\(m.count) missing"))
            for line in m { print("    missing \(line)") }
        }
        if missing > 0 { throw ExitCode(1) }
    }
}
