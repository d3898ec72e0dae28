import Foundation
import ArgumentParser
import Datasets

/// `sidenet data synth sst --out DIR [--count 9613] [--seed 0] [--hard-fraction 0.3]`: generated
/// stand-in sentences in the SST file formats (NOT SST).
struct DataSynthSST: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sst",
        abstract: "Write synthetic stand-in SST-2 sentences (stsa.binary.{train,dev,test}, vocab.txt, README.txt).")

    @OptionGroup var common: DataSynthOptions

    @Option(name: .long, help: "Total sentences; split 6,920/872/1,821 scaled to this count.")
    var count: Int = 9613

    /// The default fraction of hard sentences (negation, contrast: more than a bag of words).
    static let defaultHardFraction = 0.3

    func validate() throws {
        if count < 3 { throw ValidationError("--count must be at least 3 (one sentence per split), got \(count)") }
    }

    func run() throws {
        let s = try SyntheticSST.write(to: URL(fileURLWithPath: common.out), count: count, seed: common.seed,
                                       hardFraction: common.hardFraction ?? Self.defaultHardFraction)
        print("wrote synthetic SST to \(common.out): train \(s.train), dev \(s.dev), test \(s.test), "
              + "positive \(s.positive), hard \(s.hard), vocab \(s.vocabularySize) tokens")
    }
}
