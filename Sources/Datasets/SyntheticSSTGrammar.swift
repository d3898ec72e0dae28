import Tensors

/// The grammar behind `SyntheticSST`: lowercased, PTB-tokenized movie-review sentences (`it 's`,
/// `is n't`, `ca n't`, punctuation split off), like SST. Easy sentences are plain lexicon; hard
/// ones need word order or scope: negation of an opposite-polarity word ("not bad"), "never"
/// ("never boring"), contrast where the clause after "but"/"although ..." decides
/// ("good actors , but a dull film"), and double negation.
enum SyntheticSSTGrammar {
    static let positiveAdjectives = [
        "charming", "moving", "funny", "delightful", "brilliant", "wonderful", "engaging", "touching",
        "clever", "gorgeous", "witty", "compelling", "beautiful", "smart", "heartfelt", "entertaining",
        "memorable", "fresh", "powerful", "good", "great", "unforgettable", "inventive", "hilarious",
    ]
    static let negativeAdjectives = [
        "dull", "boring", "tedious", "clumsy", "bland", "lifeless", "predictable", "pointless",
        "shallow", "awkward", "tiresome", "forgettable", "flat", "stale", "messy", "pretentious",
        "silly", "weak", "lazy", "bad", "overlong", "uninspired", "unfunny", "incoherent",
    ]
    static let nouns = [
        "film", "movie", "picture", "drama", "comedy", "thriller", "story", "documentary", "romance",
        "western", "sequel", "satire",
    ]
    static let aspects = [
        "the acting", "the script", "the direction", "the plot", "the dialogue", "the cast",
        "the score", "the ending", "the pacing", "the cinematography", "the humor", "the premise",
    ]
    static let people = ["actors", "performers", "leads", "stars", "characters"]
    static let intensifiers = [
        "very", "truly", "remarkably", "consistently", "utterly", "surprisingly", "genuinely", "quite",
        "often", "thoroughly",
    ]
    static let positivePhrases = ["a joy to watch", "worth every minute", "a real treat", "a must-see", "a crowd-pleaser"]
    static let negativePhrases = ["a waste of time", "a chore to sit through", "a total mess", "a missed opportunity", "a slog"]

    /// Words the vocabulary holds as WordPiece pieces instead of whole words, to exercise `##`.
    static let piecedWords: [String: [String]] = [
        "unforgettable": ["un", "##forget", "##table"],
        "uninspired": ["un", "##inspired"],
        "unfunny": ["un", "##funny"],
        "incoherent": ["in", "##coherent"],
        "overlong": ["over", "##long"],
        "cinematography": ["cinema", "##tography"],
        "thoroughly": ["thorough", "##ly"],
    ]

    /// Every literal word used by the templates below (besides the lists above).
    static let templateWords = [
        "a", "an", "and", "it", "'s", "is", "n't", "not", "never", "this", "the", "with", "but",
        "although", "despite", "nothing", "about", "you", "ca", "say", "even", "if", "that",
        "i", "found", ",", ".",
    ]

    static func pick(_ list: [String], _ rng: inout SeededGenerator) -> String {
        list[rng.nextInt(below: list.count)]
    }

    static func adjectives(_ positive: Bool) -> [String] { positive ? positiveAdjectives : negativeAdjectives }

    /// Two different adjectives of one polarity.
    static func twoAdjectives(_ positive: Bool, _ rng: inout SeededGenerator) -> (String, String) {
        let list = adjectives(positive)
        let a = rng.nextInt(below: list.count)
        var b = rng.nextInt(below: list.count - 1)
        if b >= a { b += 1 }
        return (list[a], list[b])
    }

    /// "a"/"an" before a word.
    static func article(_ next: String) -> String {
        "aeiou".contains(next.first!) ? "an" : "a"
    }

    /// A plain-lexicon sentence of the given polarity.
    static func easy(positive p: Bool, _ rng: inout SeededGenerator) -> String {
        let (a, a2) = twoAdjectives(p, &rng)
        let n = pick(nouns, &rng), x = pick(aspects, &rng), i = pick(intensifiers, &rng)
        switch rng.nextInt(below: 7) {
        case 0: return "\(article(a)) \(a) and \(a2) \(n) ."
        case 1: return "\(x) is \(i) \(a) ."
        case 2: return "it 's \(article(a)) \(a) , \(a2) \(n) ."
        case 3: return "this \(n) is \(pick(p ? positivePhrases : negativePhrases, &rng)) ."
        case 4: return "\(article(i)) \(i) \(a) \(n) with \(a2) \(pick(people, &rng)) ."
        case 5: return "the \(n) is \(a) and \(x) is \(a2) ."
        default: return "i found \(x) \(i) \(a) ."
        }
    }

    /// A sentence whose label is not the majority lexicon polarity of its words, or where order
    /// and scope decide.
    static func hard(positive p: Bool, _ rng: inout SeededGenerator) -> String {
        let ap = pick(adjectives(p), &rng)          // adjective with the label's polarity
        let aq = pick(adjectives(!p), &rng)         // adjective with the opposite polarity
        let n = pick(nouns, &rng), x = pick(aspects, &rng)
        switch rng.nextInt(below: 10) {
        // Negation flips an opposite-polarity word: "the film is not bad ." -> positive.
        case 0: return "the \(n) is not \(aq) ."
        case 1: return "\(x) is n't \(aq) ."
        case 2: return "the \(n) is never \(aq) ."
        // Contrast: the clause after "but" / the main clause decides.
        case 3: return "\(aq) \(pick(people, &rng)) , but \(article(ap)) \(ap) \(n) ."
        case 4: return "\(x) is \(aq) , but the \(n) is \(ap) ."
        case 5: return "although \(x) is \(aq) , the \(n) is \(ap) ."
        case 6: return "despite \(aq) \(pick(people, &rng)) , the \(n) is \(ap) ."
        case 7: return "the \(n) is \(ap) , even if \(x) is \(aq) ."
        // Double negation: "nothing ... is n't charming" means all of it is charming.
        case 8: return "nothing about this \(n) is n't \(ap) ."
        default: return "you ca n't say that \(x) is not \(ap) ."
        }
    }
}
