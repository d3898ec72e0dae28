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

    @OptionGroup var common: DataSynthOptions

    @Option(name: .long, help: "Number of training images, spread over the five data_batch files.")
    var train: Int = 50_000

    @Option(name: .long, help: "Number of test images.")
    var test: Int = 10_000

    /// The default fraction of hard images.
    static let defaultHardFraction = 0.4

    func validate() throws {
        guard train >= 5 else { throw ValidationError("--train must be at least 5 (one image per data_batch file)") }
        guard test >= 1 else { throw ValidationError("--test must be at least 1") }
    }

    func run() throws {
        let start = Date()
        let dir = URL(fileURLWithPath: common.out)
        let s = try SyntheticCIFAR.write(to: dir, trainCount: train, testCount: test, seed: common.seed,
                                         hardFraction: common.hardFraction ?? Self.defaultHardFraction)
        let secs = Date().timeIntervalSince(start)
        print("wrote synthetic CIFAR-10 stand-in to \(dir.path): train \(s.trainRecordsPerFile) "
              + "(\(s.hardTrain) hard), test \(s.testRecords) (\(s.hardTest) hard), seed \(common.seed), "
              + String(format: "%.2f s", secs))
    }
}
