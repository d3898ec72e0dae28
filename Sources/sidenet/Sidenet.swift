import ArgumentParser
import Tensors

// Each subcommand lives in its own file in this folder; register it in `subcommands` below.
@main
struct Sidenet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sidenet",
        abstract: "Reproduce \"Add a SideNet to your MainNet\": train, evaluate and report early-exit SideNets.",
        subcommands: [
            RunCommand.self,
            MergeCommand.self,
            ListCommand.self,
            ShowCommand.self,
            EvalCommand.self,
            ReportCommand.self,
            ChooseCommand.self,
            MeasureCommand.self,
            CheckCommand.self,
            Bench.self,
            DataCommand.self,
            Inspect.self,
            ModelCommand.self,
            Tokenize.self,
            PlanCommand.self,
            PretrainCommand.self,
        ])

    /// Sets up the thread pools on the main thread before any command runs: the first use of
    /// `Threads` restarts OpenBLAS's workers with the short idle wait (`BLASWaitPolicy`), which
    /// must not happen while another thread is inside a GEMM.
    static func main() {
        _ = Threads.count
        main(nil)
    }
}
