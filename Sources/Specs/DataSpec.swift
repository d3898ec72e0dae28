/// Datasets a spec can name.
public enum DatasetName: String, Codable, CaseIterable, Sendable {
    case cifar10
    case sst2
    /// Classes of the task (SST-2 is binary: one sigmoid output).
    public var numClasses: Int { self == .cifar10 ? 10 : 2 }
}

/// Per-channel normalization of CIFAR pixels (formats.md 1.3).
public enum NormalizeName: String, Codable, CaseIterable, Sendable {
    case imagenet, cifar, none
}

/// SST split schemes (formats.md 2.3).
public enum SSTSplitName: String, Codable, CaseIterable, Sendable {
    /// 9,613 labeled sentences shuffled with `split_seed` into 5,000 / 1,613 / 3,000.
    case paper
    /// Source splits as-is: 6,920 / 872 / 1,821.
    case standard
    /// GLUE: train 67,349 phrases, dev 872 used as test (GLUE test is unlabeled).
    case glue
}

/// SST file formats (formats.md 2.1, 2.2).
public enum SSTFormatName: String, Codable, CaseIterable, Sendable {
    /// Detect from the files present in `path`.
    case auto
    /// `stsa.binary.{train,dev,test}`: `<label> <sentence>`.
    case stsa
    /// SetFit `{train,dev,test}.jsonl` with `text`, `label`.
    case jsonl
    /// SentEval `sentiment-{train,dev,test}`: `<sentence>\t<label>`.
    case senteval
    /// GLUE `train.tsv` / `dev.tsv` with a header line.
    case glue
}

/// Optional caps on the number of examples (smoke tests); nil = all.
public struct LimitSpec: Codable, Equatable, Sendable {
    public var train: Int?
    public var test: Int?
    public init(train: Int? = nil, test: Int? = nil) { self.train = train; self.test = test }
}

/// `data:` section. Image-only fields are nil for sst2 and text-only fields nil for cifar10.
public struct DataSpec: Codable, Equatable, Sendable {
    public var dataset: DatasetName
    /// Directory with the dataset files (relative paths are relative to the working directory).
    public var path: String
    /// True for generated stand-in data (demo specs); recorded in reports.
    public var synthetic: Bool
    /// Seed of the train/validation (and SST paper) split; the same for every run seed.
    public var splitSeed: Int
    public var limit: LimitSpec
    // cifar10
    /// Images held out of the 50,000 training images for validation (lr schedule, best epoch).
    public var validation: Int?
    /// Side length the 32x32 images are resized to (bilinear) before the network.
    public var inputSize: Int?
    public var normalize: NormalizeName?
    // sst2
    public var split: SSTSplitName?
    /// Token sequence length including [CLS] and [SEP] (longer inputs are truncated).
    public var maxLength: Int?
    public var format: SSTFormatName?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataset, path, synthetic, splitSeed = "split_seed", limit, validation
        case inputSize = "input_size", normalize, split, maxLength = "max_length", format
    }

    static let imageKeys = ["validation", "input_size", "normalize"]
    static let textKeys = ["split", "max_length", "format"]

    public init(dataset: DatasetName, path: String, synthetic: Bool = false, splitSeed: Int = 0,
                limit: LimitSpec = LimitSpec(), validation: Int? = nil, inputSize: Int? = nil,
                normalize: NormalizeName? = nil, split: SSTSplitName? = nil, maxLength: Int? = nil,
                format: SSTFormatName? = nil) {
        self.dataset = dataset
        self.path = path
        self.synthetic = synthetic
        self.splitSeed = splitSeed
        self.limit = limit
        switch dataset {
        case .cifar10:
            self.validation = validation ?? 5000
            self.inputSize = inputSize ?? 32
            self.normalize = normalize ?? .imagenet
        case .sst2:
            self.split = split ?? .paper
            self.maxLength = maxLength ?? 128
            self.format = format ?? .auto
        }
    }

    init(_ n: YNode) throws {
        let m = try n.mapping(allowed: CodingKeys.allCases.map { $0.rawValue })
        let dataset = try m.required("dataset") { try $0.choice(DatasetName.self) }
        switch dataset {
        case .cifar10: try m.forbid(DataSpec.textKeys, because: "for dataset cifar10 (text-only key)")
        case .sst2: try m.forbid(DataSpec.imageKeys, because: "for dataset sst2 (image-only key)")
        }
        let limit = try m.value("limit", default: LimitSpec()) { l in
            let lm = try l.mapping(allowed: ["train", "test"])
            return LimitSpec(train: try lm.optional("train") { try $0.int() },
                             test: try lm.optional("test") { try $0.int() })
        }
        self.init(dataset: dataset,
                  path: try m.required("path") { try $0.string() },
                  synthetic: try m.value("synthetic", default: false) { try $0.bool() },
                  splitSeed: try m.value("split_seed", default: 0) { try $0.int() },
                  limit: limit,
                  validation: try m.optional("validation") { try $0.int() },
                  inputSize: try m.optional("input_size") { try $0.int() },
                  normalize: try m.optional("normalize") { try $0.choice(NormalizeName.self) },
                  split: try m.optional("split") { try $0.choice(SSTSplitName.self) },
                  maxLength: try m.optional("max_length") { try $0.int() },
                  format: try m.optional("format") { try $0.choice(SSTFormatName.self) })
    }
}
