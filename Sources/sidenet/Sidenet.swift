import ArgumentParser

@main
struct Sidenet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sidenet",
        abstract: "Reproduce \"Add a SideNet to your MainNet\": train, evaluate and report early-exit SideNets.",
        subcommands: [])
}
