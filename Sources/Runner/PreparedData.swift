import Foundation
import Datasets
import Models
import Specs
import Tensors
import Tokenizer

/// A data set made ready for one experiment: one pool of examples addressed by index, the
/// train / validation / test index lists into it, and batch builders for the model.
/// CIFAR-10: pool = training-file images then test-file images. SST: the split's pool.
final class PreparedData {
    enum Source {
        case images(CIFARImages, ImagePreprocessing)
        case text(SSTEncodedPool)
    }

    let source: Source
    let labels: [Int]
    let train: [Int], validation: [Int], test: [Int]
    let numClasses: Int
    /// Outputs of a head: classes, or 1 (one sigmoid logit) for binary tasks.
    var outputs: Int { numClasses == 2 ? 1 : numClasses }
    /// Identifies the examples and their preprocessing (feature-cache key material).
    let identity: String
    /// Recorded with runs (split scheme and index hash where there is one).
    let splitDescription: String
    /// Token count used for FLOP accounting of text models (mean over the test split).
    let meanTestLength: Int

    init(source: Source, labels: [Int], train: [Int], validation: [Int], test: [Int], numClasses: Int,
         identity: String, splitDescription: String, meanTestLength: Int) {
        self.source = source
        self.labels = labels
        self.train = train
        self.validation = validation
        self.test = test
        self.numClasses = numClasses
        self.identity = identity
        self.splitDescription = splitDescription
        self.meanTestLength = meanTestLength
    }

    var poolCount: Int { labels.count }

    /// The order in which a frozen backbone should visit the pool: text sorted by token count, so
    /// each dynamically padded batch holds sentences of similar length (features are per example,
    /// so the order changes no result, only the padding computed); images in pool order.
    var featureOrder: [Int] {
        guard case .text(let pool) = source else { return Array(0..<poolCount) }
        return (0..<poolCount).sorted { (pool.ids[$0].count, $0) < (pool.ids[$1].count, $1) }
    }

    func images(_ indices: [Int]) -> Tensor {
        guard case .images(let pool, let pre) = source else { preconditionFailure("image batch of a text data set") }
        return pool.batch(indices, preprocessing: pre).images
    }

    func tokens(_ indices: [Int]) throws -> TokenBatchData {
        guard case .text(let pool) = source else { preconditionFailure("token batch of an image data set") }
        let b = pool.batch(indices)
        return TokenBatchData(ids: b.encoded.inputIDs.map { Int($0) },
                              mask: Tensor(shape: [b.encoded.batchSize, b.encoded.sequenceLength],
                                           data: b.encoded.attentionMaskFloat))
    }

    static func load(_ spec: ExperimentSpec, baseDir: URL) throws -> PreparedData {
        let dir = resolve(spec.data.path, baseDir)
        let prepared: PreparedData
        switch spec.data.dataset {
        case .cifar10: prepared = try loadCIFAR(spec, dir: dir)
        case .sst2: prepared = try loadSST(spec, dir: dir, baseDir: baseDir)
        }
        // BatchNorm needs at least 2 examples per training batch; refuse before training starts.
        guard prepared.train.count >= 2 else {
            throw RunnerError.invalid("\(spec.name): the training split of \(spec.data.path) has \(prepared.train.count) example(s) "
                + "(data.limit.train / data.validation); at least 2 are needed (BatchNorm)")
        }
        return prepared
    }

    private static func loadCIFAR(_ spec: ExperimentSpec, dir: URL) throws -> PreparedData {
        let check: CIFAR10.SizeCheck = spec.data.synthetic ? .anyRecordCount : .exact
        let data = try CIFAR10.load(from: dir, sizeCheck: check)
        var train = data.train, test = data.test
        if let n = spec.data.limit.train, n < train.count { train = train.subset(Array(0..<n)) }
        if let n = spec.data.limit.test, n < test.count { test = test.subset(Array(0..<n)) }
        let pool = CIFARImages.concatenated([train, test])
        let split = try CIFARSplits(trainCount: train.count, testCount: test.count,
                                    validationCount: spec.data.validation ?? 5000,
                                    seed: UInt64(spec.data.splitSeed))
        let norm = try ImageNormalization(name: (spec.data.normalize ?? .imagenet).rawValue)
        let pre = ImagePreprocessing(resizeTo: spec.data.inputSize, normalization: norm)
        let files = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                     "data_batch_5.bin", "test_batch.bin"].map { CIFAR10.resolveDirectory(dir).appendingPathComponent($0) }
        let identity = "cifar10|\(try FileDigest.digest(files))|train\(train.count)|test\(test.count)|"
            + "size\(spec.data.inputSize ?? 32)|\(norm.rawValue)"
        return PreparedData(source: .images(pool, pre), labels: (0..<pool.count).map { pool.label($0) },
                            train: split.train, validation: split.validation,
                            test: split.test.map { $0 + train.count }, numClasses: 10,
                            identity: identity,
                            splitDescription: "cifar10 validation \(split.validation.count) of \(train.count), split_seed \(spec.data.splitSeed), "
                                + "indices \(FileDigest.hash(split.validation.map(String.init).joined(separator: ",")))",
                            meanTestLength: 0)
    }

    private static func loadSST(_ spec: ExperimentSpec, dir: URL, baseDir: URL) throws -> PreparedData {
        let format: SSTFormat? = try spec.data.format.flatMap { $0 == .auto ? nil : try SSTFormat.named($0.rawValue) }
        let corpus = try SSTReader.load(directory: dir, format: format)
        let scheme = try SSTSplitScheme.named((spec.data.split ?? .paper).rawValue)
        let split = try SSTSplit.make(corpus, scheme: scheme, seed: UInt64(spec.data.splitSeed))
        guard let kind = spec.mainnet.arch.family.textTokenizer else {
            throw RunnerError.invalid("\(spec.name): a \(spec.mainnet.arch.family.name) MainNet does not read text")
        }
        guard let vocabPath = spec.mainnet.vocab else {
            throw RunnerError.invalid("\(spec.name): mainnet.vocab (the MainNet's vocab.txt) is required for text experiments")
        }
        let vocabURL = resolve(vocabPath, baseDir)
        guard FileManager.default.fileExists(atPath: vocabURL.path) else {
            throw RunnerError.missingFile(path: vocabURL.path, what: "vocab.txt",
                                          hint: "put the model's vocab.txt there (it ships with the HuggingFace model files)")
        }
        let tokenizer: UncasedWordPieceTokenizer
        switch kind {  // the tokenizer the MainNet family declares
        case .uncasedWordPiece: tokenizer = try UncasedWordPieceTokenizer(vocabFile: vocabURL)
        }
        let maxLength = spec.data.maxLength ?? 128
        let pool = SSTEncodedPool(split: split, tokenizer: tokenizer, maxLength: maxLength)
        var train = split.train, test = split.test
        if let n = spec.data.limit.train, n < train.count { train = Array(train.prefix(n)) }
        if let n = spec.data.limit.test, n < test.count { test = Array(test.prefix(n)) }
        let meanLength = test.isEmpty ? 1 : Int((Double(test.reduce(0) { $0 + pool.ids[$1].count }) / Double(test.count)).rounded())
        let identity = "sst|\(split.poolHash)|\(try FileDigest.digest([vocabURL]))|max\(maxLength)"
        return PreparedData(source: .text(pool), labels: pool.labels.map { Int($0) },
                            train: train, validation: split.validation, test: test, numClasses: 2,
                            identity: identity,
                            splitDescription: "sst \((spec.data.split ?? .paper).rawValue) \(split.train.count)/\(split.validation.count)/\(split.test.count), "
                                + "split_seed \(spec.data.splitSeed), indices \(split.indexHash)",
                            meanTestLength: meanLength)
    }
}

/// Ids and mask of a padded token batch (kept free of the Models types here).
struct TokenBatchData {
    var ids: [Int]
    var mask: Tensor
}

func resolve(_ path: String, _ base: URL) -> URL {
    path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
}
