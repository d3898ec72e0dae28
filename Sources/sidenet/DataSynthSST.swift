import Foundation
import ArgumentParser
import Datasets

/// `sidenet data synth sst --out DIR [--count 9613] [--seed 0] [--hard-fraction 0.3]`.
struct DataSynthSST: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sst",
        abstract: "Write synthetic stand-in SST-2 sentences (stsa.binary.{train,dev,test}, vocab.txt, README.txt).")

    @Option(name: .long, help: "Output directory (created if needed). Name it so it is clearly synthetic.")
    var out: String

    @Option(name: .long, help: "Total sentences; split 6,920/872/1,821 scaled to this count.")
    var count: Int = 9613

    @Option(name: .long, help: "Seed of the generator.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Fraction of sentences that need more than bag of words (negation, contrast).")
    var hardFraction: Double = 0.3

    func validate() throws {
        if count < 3 { throw ValidationError("--count must be at least 3 (one sentence per split), got \(count)") }
        if !(0...1).contains(hardFraction) { throw ValidationError("--hard-fraction must be in [0, 1], got \(hardFraction)") }
    }

    func run() throws {
        let s = try SyntheticSST.write(to: URL(fileURLWithPath: out), count: count, seed: seed, hardFraction: hardFraction)
        print("wrote synthetic SST to \(out): train \(s.train), dev \(s.dev), test \(s.test), "
              + "positive \(s.positive), hard \(s.hard), vocab \(s.vocabularySize) tokens")
    }
}
