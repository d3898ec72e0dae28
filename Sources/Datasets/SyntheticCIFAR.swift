import Foundation
import Tensors

/// Generated stand-in for CIFAR-10, written in the exact binary format so every code path that
/// reads real CIFAR-10 runs unchanged on it. Ten classes of procedurally drawn 32×32 images
/// (see `SyntheticPainter`), balanced, with a controlled fraction of hard examples so early
/// exits have something to gain. It is NOT CIFAR-10: accuracies on it say nothing about the
/// paper's numbers. Deterministic for a seed (independent of the thread count).
public enum SyntheticCIFAR {
    /// Images of one split plus, per image, whether it was drawn hard.
    public struct Generated: Sendable {
        public var images: CIFARImages
        public var hard: [Bool]
    }

    public static let trainDifficultyFileName = "difficulty_train.bin"
    public static let testDifficultyFileName = "difficulty_test.bin"
    public static let readmeFileName = "README.txt"

    /// Draws `count` images for `split` ("train" or "test"; any label gives an independent
    /// stream). Labels are balanced (counts differ by at most one) in random order;
    /// round(hardFraction·count) images are hard, spread evenly over classes.
    public static func generate(count: Int, seed: UInt64, hardFraction: Double, split: String) -> Generated {
        precondition(count >= 0 && hardFraction >= 0 && hardFraction <= 1)
        let root = SeededGenerator(seed: seed).derived("synthetic-cifar/" + split)
        var order = root.derived("order")
        let perm = order.permutation(count)
        let hardCount = Int((hardFraction * Double(count)).rounded())
        var labels = [UInt8](repeating: 0, count: count)
        var hard = [Bool](repeating: false, count: count)
        for (k, i) in perm.enumerated() {
            labels[i] = UInt8(k % 10)
            hard[i] = k < hardCount
        }
        var keyGen = root.derived("images")
        let key = keyGen.next()
        var pixels = [UInt8](repeating: 0, count: count * CIFARImages.pixelsPerImage)
        labels.withUnsafeBufferPointer { lab in
            hard.withUnsafeBufferPointer { hrd in
                pixels.withUnsafeMutableBufferPointer { px in
                    let base = px.baseAddress!
                    parallelFor(count, minChunk: 256) { range in
                        let canvas = UnsafeMutablePointer<Float>.allocate(capacity: 3072)
                        defer { canvas.deallocate() }
                        for i in range {
                            var g = SeededGenerator(seed: key &+ UInt64(i) &* 0x9E37_79B9_7F4A_7C15)
                            SyntheticPainter.paint(label: Int(lab[i]), hard: hrd[i], g: &g, canvas: canvas,
                                                   out: base + i * CIFARImages.pixelsPerImage)
                        }
                    }
                }
            }
        }
        return Generated(images: CIFARImages(pixels: pixels, labels: labels), hard: hard)
    }

    /// What `write` produced.
    public struct Summary: Sendable, Equatable {
        public var directory: URL
        public var trainRecordsPerFile: [Int]
        public var testRecords: Int
        public var hardTrain: Int
        public var hardTest: Int
    }

    /// Writes data_batch_1…5.bin, test_batch.bin, batches.meta.txt (the ten CIFAR-10 class
    /// names), README.txt (says it is synthetic) and difficulty_{train,test}.bin (one byte per
    /// record in file order: 0 easy, 1 hard) into `directory`, creating it if needed.
    /// The training images are split over the five files as evenly as possible.
    @discardableResult
    public static func write(to directory: URL, trainCount: Int, testCount: Int, seed: UInt64,
                             hardFraction: Double = 0.4) throws -> Summary {
        guard trainCount >= 5 else {
            throw CIFARError.invalidArgument(name: "train count", value: "\(trainCount)",
                                             expected: "at least 5 (one record per data_batch file)")
        }
        guard testCount >= 1 else {
            throw CIFARError.invalidArgument(name: "test count", value: "\(testCount)", expected: "at least 1")
        }
        guard hardFraction >= 0 && hardFraction <= 1 else {
            throw CIFARError.invalidArgument(name: "hard fraction", value: "\(hardFraction)", expected: "0...1")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw CIFARError.io(path: directory.path, reason: "cannot create directory (\(error.localizedDescription))")
        }
        let train = generate(count: trainCount, seed: seed, hardFraction: hardFraction, split: "train")
        let test = generate(count: testCount, seed: seed, hardFraction: hardFraction, split: "test")
        var perFile: [Int] = []
        var start = 0
        for (f, name) in CIFAR10.trainFileNames.enumerated() {
            let n = trainCount / 5 + (f < trainCount % 5 ? 1 : 0)
            try CIFAR10.writeFile(train.images.subset(Array(start..<(start + n))),
                                  to: directory.appendingPathComponent(name))
            perFile.append(n)
            start += n
        }
        try CIFAR10.writeFile(test.images, to: directory.appendingPathComponent(CIFAR10.testFileName))
        try writeText(CIFAR10.canonicalClassNames.joined(separator: "\n") + "\n",
                      to: directory.appendingPathComponent(CIFAR10.metaFileName))
        try writeBytes(train.hard.map { $0 ? 1 : 0 }, to: directory.appendingPathComponent(trainDifficultyFileName))
        try writeBytes(test.hard.map { $0 ? 1 : 0 }, to: directory.appendingPathComponent(testDifficultyFileName))
        let summary = Summary(directory: directory, trainRecordsPerFile: perFile, testRecords: testCount,
                              hardTrain: train.hard.filter { $0 }.count, hardTest: test.hard.filter { $0 }.count)
        try writeText(readme(summary, seed: seed, hardFraction: hardFraction),
                      to: directory.appendingPathComponent(readmeFileName))
        return summary
    }

    /// Reads difficulty_{train,test}.bin written by `write` (true = hard), in record order.
    public static func readDifficulty(from directory: URL) throws -> (train: [Bool], test: [Bool]) {
        func read(_ name: String) throws -> [Bool] {
            let url = directory.appendingPathComponent(name)
            do { return try Data(contentsOf: url).map { $0 != 0 } } catch {
                throw CIFARError.io(path: url.path, reason: "no difficulty file (only generated data has one)")
            }
        }
        return (try read(trainDifficultyFileName), try read(testDifficultyFileName))
    }

    static func readme(_ s: Summary, seed: UInt64, hardFraction: Double) -> String {
        """
        SYNTHETIC STAND-IN DATA - NOT CIFAR-10.

        Written by sidenet (SyntheticCIFAR) in the CIFAR-10 binary format so that the CIFAR-10
        code paths can run without the real data set. Results on it say nothing about CIFAR-10.
        Real CIFAR-10: https://www.cs.toronto.edu/~kriz/cifar.html ("CIFAR-10 binary version",
        cifar-10-binary.tar.gz).

        seed: \(seed)
        hard fraction: \(hardFraction)
        train records per file (data_batch_1..5.bin): \(s.trainRecordsPerFile.map(String.init).joined(separator: ", "))
        test records (test_batch.bin): \(s.testRecords)
        hard examples: \(s.hardTrain) train, \(s.hardTest) test

        Records: 1 label byte (0-9) + 3,072 pixel bytes (R, G, B planes of 32x32, row-major).
        Classes (batches.meta.txt order) are drawn shapes, not the named objects:
        0 airplane = cross, 1 automobile = square, 2 bird = triangle, 3 cat = ring,
        4 deer = striped diamond, 5 dog = spotted disc, 6 frog = checkered blob,
        7 horse = shaded ellipse, 8 ship = hull, 9 truck = striped wide rectangle.
        Easy images: centred, full size, class colours, high contrast: colour and local texture
        at fixed positions answer them, which early (shallow) features already carry.
        What makes an image hard is that only depth answers it: the object is small (radius 6-9
        px instead of 11), anywhere in the frame, freely rotated, among 3-6 smaller clutter shapes
        (radius 1.5-4 px) drawn in the colours of the class palettes, and always in the colours of
        its confusable partner class (airplane/ship, automobile/truck, bird/frog, cat/dog,
        deer/horse; sometimes on a foreign background). Colour and position, the cues early
        features read, then point to the wrong class, and the colours in the frame do not say
        which shape is the object; only the largest shape's own shape and texture, found among
        same-coloured clutter by its size wherever and however turned it is (translation- and
        rotation-invariant features, built up over many layers), answer it. Hard images are never ambiguous: the
        object is whole, at full contrast, the largest shape in the frame, under mild noise, so
        a deep enough network can answer all of them.
        difficulty_train.bin / difficulty_test.bin: one byte per record in file order, 1 = hard.

        """
    }

    static func writeText(_ text: String, to url: URL) throws {
        do { try text.write(to: url, atomically: true, encoding: .utf8) } catch {
            throw CIFARError.io(path: url.path, reason: "\(error.localizedDescription)")
        }
    }

    static func writeBytes(_ bytes: [UInt8], to url: URL) throws {
        do { try Data(bytes).write(to: url) } catch {
            throw CIFARError.io(path: url.path, reason: "\(error.localizedDescription)")
        }
    }
}
