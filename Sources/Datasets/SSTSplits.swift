import Tensors

/// How examples are assigned to train / validation / test.
public enum SSTSplitScheme: String, Sendable, CaseIterable {
    /// The files' own splits: train -> train, dev -> validation, test -> test (6,920/872/1,821
    /// for sentence-level SST-2). Needs a labeled test file (not GLUE).
    case standard
    /// The paper's 5,000 / 1,613 / 3,000: the labeled pool in canonical order (train, dev, test,
    /// each in file order) permuted by `SeededGenerator(seed: seed).permutation(n)`; the first
    /// 5,000 train, next 1,613 validation, last 3,000 test. For a pool of n != 9,613 the sizes
    /// are scaled: train = round(n·5000/9613), validation = round(n·1613/9613), test = the rest.
    /// Refused for GLUE files (phrase-level train, unlabeled test cannot form the 9,613 pool).
    case paper
    /// GLUE-style sanity check: the dev file is the test set; validation is held out from the
    /// train file: `SeededGenerator(seed: seed).permutation(trainCount)`, the first
    /// `dev.count` positions (capped at half the train file) become validation, the rest train.
    case glue

    public static func named(_ name: String) throws -> SSTSplitScheme {
        try sstNamed(name, kind: "split scheme")
    }
}

/// A split: index lists into `pool` plus hashes to record in the run.
public struct SSTSplit: Sendable {
    public let scheme: SSTSplitScheme
    public let seed: UInt64
    /// Labeled examples in canonical order (train, dev, test of the files). Indices refer to it.
    public let pool: [SSTExample]
    public let train: [Int]
    public let validation: [Int]
    public let test: [Int]

    /// FNV-1a 64 over the scheme name and the three index lists (each: count, then every index,
    /// as little-endian UInt64), as "fnv1a64:<16 hex digits>".
    public var indexHash: String {
        var h = FNV1a64()
        h.add(scheme.rawValue)
        for list in [train, validation, test] {
            h.add(UInt64(list.count))
            for i in list { h.add(UInt64(i)) }
        }
        return h.hex
    }

    /// FNV-1a 64 over the pool contents (each example: UTF-8 text, a 0 byte, its label digit), to
    /// tell apart distributions whose surface text differs.
    public var poolHash: String {
        var h = FNV1a64()
        for e in pool {
            h.add(e.text)
            h.add(byte: 0)
            h.add(byte: UInt8(e.label ?? 9))
        }
        return h.hex
    }

    /// Builds `scheme` over a corpus with `seed`.
    public static func make(_ corpus: SSTCorpus, scheme: SSTSplitScheme, seed: UInt64) throws -> SSTSplit {
        switch scheme {
        case .standard:
            if corpus.test.isEmpty || corpus.test.contains(where: { $0.label == nil }) {
                throw SSTError.unsupportedScheme(scheme: scheme.rawValue,
                                                 reason: "the \(corpus.format.rawValue) test file has no labels; use glue or a sentence-level distribution")
            }
            let pool = corpus.train + corpus.dev + corpus.test
            let a = corpus.train.count, b = a + corpus.dev.count
            return SSTSplit(scheme: scheme, seed: seed, pool: pool,
                            train: Array(0..<a), validation: Array(a..<b), test: Array(b..<pool.count))
        case .paper:
            if corpus.format == .glue {
                throw SSTError.unsupportedScheme(scheme: scheme.rawValue,
                                                 reason: "GLUE train is phrase-level and its test is unlabeled; use stsa.binary.*, sentiment-* or *.jsonl (9,613 sentences)")
            }
            let pool = corpus.labeledPool
            let (nTrain, nVal, _) = paperSizes(pool.count)
            var rng = SeededGenerator(seed: seed)
            let perm = rng.permutation(pool.count)
            return SSTSplit(scheme: scheme, seed: seed, pool: pool,
                            train: Array(perm[0..<nTrain]),
                            validation: Array(perm[nTrain..<(nTrain + nVal)]),
                            test: Array(perm[(nTrain + nVal)...]))
        case .glue:
            let pool = corpus.train.filter { $0.label != nil } + corpus.dev.filter { $0.label != nil }
            let nTrainFile = pool.count - corpus.dev.count
            let nVal = min(corpus.dev.count, nTrainFile / 2)
            var rng = SeededGenerator(seed: seed)
            let perm = rng.permutation(nTrainFile)
            return SSTSplit(scheme: scheme, seed: seed, pool: pool,
                            train: Array(perm[nVal...]), validation: Array(perm[0..<nVal]),
                            test: Array(nTrainFile..<pool.count))
        }
    }

    /// Paper split sizes for a pool of n: exactly 5,000 / 1,613 / 3,000 for n = 9,613, else scaled.
    public static func paperSizes(_ n: Int) -> (train: Int, validation: Int, test: Int) {
        let train = Int((Double(n) * 5000.0 / 9613.0).rounded())
        let val = min(n - train, Int((Double(n) * 1613.0 / 9613.0).rounded()))
        return (train, val, n - train - val)
    }
}

/// 64-bit FNV-1a.
struct FNV1a64 {
    var state: UInt64 = 0xCBF2_9CE4_8422_2325
    mutating func add(byte: UInt8) { state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    mutating func add(_ v: UInt64) { for k in 0..<8 { add(byte: UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) } }
    mutating func add(_ s: String) { for b in s.utf8 { add(byte: b) } }
    var hex: String {
        let digits = String(state, radix: 16)
        return "fnv1a64:" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}
