import Foundation
import Tensors
import Tokenizer

/// Synthetic stand-in for sentence-level SST-2, for machines without the real data. Writes the
/// real file names (`stsa.binary.{train,dev,test}`) so the normal readers load it, plus a BERT
/// layout `vocab.txt` covering every word and a README.txt saying the data is synthetic.
public enum SyntheticSST {
    /// One generated sentence.
    public struct Sentence: Sendable, Equatable {
        public let text: String
        /// 1 = positive, 0 = negative.
        public let label: Int
        /// True when the label needs more than bag of words (negation, contrast, double negation).
        public let hard: Bool
    }

    /// What `write` produced.
    public struct Summary: Sendable {
        public let train: Int, dev: Int, test: Int
        public let positive: Int, hard: Int
        public let vocabularySize: Int
    }

    /// Split sizes 6,920 / 872 / 1,821 scaled to `count` (exact for 9,613): train and dev
    /// rounded, test takes the rest.
    public static func splitSizes(count: Int) -> (train: Int, dev: Int, test: Int) {
        let train = Int((Double(count) * 6920.0 / 9613.0).rounded())
        let dev = min(count - train, Int((Double(count) * 872.0 / 9613.0).rounded()))
        return (train, dev, count - train - dev)
    }

    /// Generates the three splits. Per split, labels are exactly balanced (positives =
    /// ceil(n/2)) and round(hardFraction·n) sentences are hard, both assigned by seeded
    /// permutations; no sentence repeats across the whole set. Deterministic for a seed.
    public static func generate(count: Int, seed: UInt64, hardFraction: Double = 0.3) -> [SSTSourceSplit: [Sentence]] {
        precondition(count >= 3, "need at least one sentence per split")
        precondition((0...1).contains(hardFraction), "hardFraction must be in [0, 1]")
        var rng = SeededGenerator(seed: seed)
        let sizes = splitSizes(count: count)
        var seen = Set<String>()
        var out: [SSTSourceSplit: [Sentence]] = [:]
        for (split, n) in [(SSTSourceSplit.train, sizes.train), (.dev, sizes.dev), (.test, sizes.test)] {
            let positives = (n + 1) / 2
            let hardCount = Int((Double(n) * hardFraction).rounded())
            let labelPerm = rng.permutation(n), hardPerm = rng.permutation(n)
            var sentences: [Sentence] = []
            sentences.reserveCapacity(n)
            for i in 0..<n {
                let positive = labelPerm[i] < positives
                let hard = hardPerm[i] < hardCount
                var text = ""
                // Redraw duplicates; the grammar has millions of sentences, so this ends quickly.
                repeat {
                    text = hard ? SyntheticSSTGrammar.hard(positive: positive, &rng)
                                : SyntheticSSTGrammar.easy(positive: positive, &rng)
                } while !seen.insert(text).inserted
                sentences.append(Sentence(text: text, label: positive ? 1 : 0, hard: hard))
            }
            out[split] = sentences
        }
        return out
    }

    /// The vocabulary in BERT's layout: [PAD]=0, [unused0]..[unused98]=1..99, [UNK]=100,
    /// [CLS]=101, [SEP]=102, [MASK]=103, then every basic token of the grammar's words (sorted
    /// by scalar values), then the `##` pieces (sorted). Some words are only present as pieces.
    public static func vocabularyTokens() -> [String] {
        var tokens = ["[PAD]"] + (0..<99).map { "[unused\($0)]" } + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        let g = SyntheticSSTGrammar.self
        let lists = [g.positiveAdjectives, g.negativeAdjectives, g.nouns, g.aspects, g.people, g.intensifiers,
                     g.positivePhrases, g.negativePhrases, g.templateWords]
        let basic = BasicTokenizer()
        var words = Set<String>(), pieces = Set<String>()
        for phrase in lists.joined() {
            for w in basic.tokenize(phrase) {
                if let split = g.piecedWords[w] {
                    for p in split { if p.hasPrefix("##") { pieces.insert(p) } else { words.insert(p) } }
                } else {
                    words.insert(w)
                }
            }
        }
        func scalarOrder(_ a: String, _ b: String) -> Bool {
            a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
        }
        tokens += words.sorted(by: scalarOrder) + pieces.sorted(by: scalarOrder)
        return tokens
    }

    /// Writes `stsa.binary.{train,dev,test}`, `vocab.txt` and `README.txt` into `directory`
    /// (created if needed).
    @discardableResult
    public static func write(to directory: URL, count: Int = 9613, seed: UInt64 = 0,
                             hardFraction: Double = 0.3) throws -> Summary {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw SSTError.unreadable(path: directory.path, reason: "cannot create directory: \((error as NSError).localizedDescription)")
        }
        let splits = generate(count: count, seed: seed, hardFraction: hardFraction)
        func save(_ text: String, _ name: String) throws {
            let url = directory.appendingPathComponent(name)
            do { try Data(text.utf8).write(to: url) } catch {
                throw SSTError.unreadable(path: url.path, reason: "cannot write: \((error as NSError).localizedDescription)")
            }
        }
        for split in SSTSourceSplit.allCases {
            let body = splits[split]!.map { "\($0.label) \($0.text)\n" }.joined()
            try save(body, SSTFormat.stsaBinary.fileName(split))
        }
        let vocab = vocabularyTokens()
        try save(vocab.joined(separator: "\n") + "\n", "vocab.txt")
        let all = splits.values.joined()
        let summary = Summary(train: splits[.train]!.count, dev: splits[.dev]!.count, test: splits[.test]!.count,
                              positive: all.filter { $0.label == 1 }.count, hard: all.filter(\.hard).count,
                              vocabularySize: vocab.count)
        try save(readme(summary, count: count, seed: seed, hardFraction: hardFraction), "README.txt")
        return summary
    }

    static func readme(_ s: Summary, count: Int, seed: UInt64, hardFraction: Double) -> String {
        """
        SYNTHETIC STAND-IN DATA - NOT THE STANFORD SENTIMENT TREEBANK.

        Generated by `sidenet data synth sst` (Datasets.SyntheticSST) with count=\(count), seed=\(seed),
        hard-fraction=\(hardFraction). Sentences come from a small grammar with a sentiment lexicon:
        lowercased, PTB-tokenized movie-review sentences like SST. Easy sentences are plain lexicon
        ("a charming and moving film ."): the polarity of their words answers them, which the first
        block's [CLS] state (a bag of words) already carries. What makes a sentence hard: its label
        is not the majority polarity of its words; word order and scope decide, which takes more
        blocks of attention: negation
        ("the film is not bad ."), "never" ("the movie is never boring ."), contrast
        ("dull actors , but a charming film ."), double negation ("nothing about this film is n't clever .").

        Files use the real sentence-level SST-2 layout so the normal readers load them:
          stsa.binary.train  \(s.train) lines
          stsa.binary.dev    \(s.dev) lines
          stsa.binary.test   \(s.test) lines
          line format: <label> <sentence>, label 1 = positive, 0 = negative
          vocab.txt          \(s.vocabularySize) tokens, BERT layout ([PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103)
        Positive sentences: \(s.positive) of \(s.train + s.dev + s.test); hard sentences: \(s.hard).

        Results obtained on this data say nothing about SST-2; use it to exercise the pipeline.
        The real data: GLUE SST-2 (https://dl.fbaipublicfiles.com/glue/data/SST-2.zip, phrase-level
        train) or the sentence-level 6,920/872/1,821 files (stsa.binary.*, SentEval, SetFit/sst2).

        """
    }
}
