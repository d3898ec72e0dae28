import ArgumentParser
import Datasets
import Foundation

/// `sidenet data synth cifar10`: writes generated stand-in images in the CIFAR-10 binary format.
struct DataSynthCIFAR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cifar10",
        abstract: "Write synthetic stand-in images in the CIFAR-10 binary format (NOT CIFAR-10).",
        discussion: """
            Writes data_batch_1..5.bin, test_batch.bin, batches.meta.txt, README.txt and \
            difficulty_{train,test}.bin into --out. Ten classes of drawn shapes with a mix of \
            easy and hard examples; deterministic for --seed. For the real data set download \
            cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html.
            """)

    @Option(name: .long, help: "Output directory (created if missing).")
    var out: String

    @Option(name: .long, help: "Number of training images, spread over the five data_batch files.")
    var train: Int = 50_000

    @Option(name: .long, help: "Number of test images.")
    var test: Int = 10_000

    @Option(name: .long, help: "Seed for every random choice.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Fraction of hard examples (0...1).")
    var hardFraction: Double = 0.4

    func validate() throws {
        guard train >= 5 else { throw ValidationError("--train must be at least 5 (one image per data_batch file)") }
        guard test >= 1 else { throw ValidationError("--test must be at least 1") }
        guard (0...1).contains(hardFraction) else { throw ValidationError("--hard-fraction must be in 0...1") }
    }

    func run() throws {
        let start = Date()
        let dir = URL(fileURLWithPath: out)
        let s = try SyntheticCIFAR.write(to: dir, trainCount: train, testCount: test, seed: seed,
                                         hardFraction: hardFraction)
        let secs = Date().timeIntervalSince(start)
        print("wrote synthetic CIFAR-10 stand-in to \(dir.path): train \(s.trainRecordsPerFile) "
              + "(\(s.hardTrain) hard), test \(s.testRecords) (\(s.hardTest) hard), seed \(seed), "
              + String(format: "%.2f s", secs))
    }
}
