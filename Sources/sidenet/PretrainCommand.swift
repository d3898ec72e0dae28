import ArgumentParser
import Foundation
import Runner
import Specs
import Store
import Tensors

/// `sidenet pretrain SPEC...`: pretrains the demo's MainNets once and writes their weight files.
struct PretrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Pretrain a MainNet on a pretraining spec and write its body as a weight file (torchvision / HF names).",
        discussion: """
            Each SPEC (e.g. experiments/pretrain/*.yaml) describes the pretraining task: regime full, \
            variant baseline, random initialisation. Its first seed's baseline run trains the MainNet \
            alone (stored in --db, so an interrupted pretraining resumes); the body of its best epoch \
            is written to <out-dir>/<spec name>.safetensors under torchvision (ResNet) or HuggingFace \
            (bert. / distilbert. prefix) names, which experiment specs then name as mainnet.weights. \
            The file records a hash of the spec and its data: when it is up to date nothing is trained.
            """)

    @Argument(help: "Pretraining spec files (YAML).")
    var specs: [String]

    @Option(help: "Folder for the pretrained weight files.")
    var outDir: String = "results/pretrained"

    @Option(name: .long, help: "Database of the pretraining runs (SQLite).")
    var db: String = "results/pretrain.sqlite"

    @Option(help: "Threads for OpenBLAS and sidenet's loops (default: all cores).")
    var threads: Int = Threads.count

    @Option(help: "Folder for checkpoints of the pretraining runs.")
    var results: String = "results"

    func validate() throws {
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let loaded = try loadSpecs(specs)
        let store = try ResultStore(path: db)
        var options = RunOptions()
        options.threads = threads
        options.resultsDir = URL(fileURLWithPath: results)
        options.gitCommit = currentGitCommit()
        options.progress = ProgressDisplay()
        for spec in loaded {
            let out = URL(fileURLWithPath: outDir).appendingPathComponent("\(spec.name).safetensors")
            let r = try Pretrainer.pretrain(spec, out: out, store: store, options: options)
            let shown = (outDir as NSString).appendingPathComponent("\(spec.name).safetensors")
            if r.reused {
                print("\(spec.name): reused \(shown) (pretrain key \(r.key))")
            } else {
                print("\(spec.name): pretrained, wrote \(shown) (pretrain key \(r.key), MainNet test acc \(percent(r.testAccMain))% on the pretraining task)")
            }
        }
    }
}
