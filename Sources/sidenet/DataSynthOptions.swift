import ArgumentParser

/// The options every `sidenet data synth` generator shares: where to write, the seed, and the
/// fraction of hard inputs (each generator has its own default).
struct DataSynthOptions: ParsableArguments {
    @Option(name: .long, help: "Output directory (created if missing). Name it so it is clearly synthetic.")
    var out: String

    @Option(name: .long, help: "Seed for every random choice.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Fraction of hard inputs, in [0, 1] (default: the generator's).")
    var hardFraction: Double?

    func validate() throws {
        if let h = hardFraction, !(0...1).contains(h) {
            throw ValidationError("--hard-fraction must be in [0, 1], got \(h)")
        }
    }
}
