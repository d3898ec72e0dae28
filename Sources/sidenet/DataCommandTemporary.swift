import ArgumentParser

// TEMPORARY (textdata branch): `sidenet data synth sst` until the coordinator merges the data
// commands of both helpers into one `data synth` group. Delete this file at that point.
struct TemporaryDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Data utilities.",
        subcommands: [TemporarySynthCommand.self])
}

struct TemporarySynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Generate synthetic stand-in datasets.",
        subcommands: [DataSynthSST.self])
}
