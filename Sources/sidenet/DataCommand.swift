import ArgumentParser

/// `sidenet data ...`: dataset utilities.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Dataset utilities (generated stand-in data in the real formats).",
        subcommands: [DataSynth.self])
}

/// `sidenet data synth cifar10|sst`.
struct DataSynth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write synthetic stand-in data in the published file formats (CIFAR-10 binary, SST sentence files).",
        discussion: "The data is synthetic and says so in a README.txt beside it. The same loaders read it as real data.",
        subcommands: [DataSynthCIFAR.self, DataSynthSST.self])
}
