import Foundation
import ArgumentParser
import Tokenizer

/// `sidenet tokenize --vocab FILE [--max-length N]`: one line of ids per stdin line.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "BERT WordPiece (uncased) token ids for each line on stdin: [CLS] pieces [SEP], space separated.")

    @Option(name: .long, help: "BERT vocab.txt (one token per line, id = line number).")
    var vocab: String

    @Option(name: .long, help: "Keep at most N ids per line including [CLS] and [SEP] (N >= 2).")
    var maxLength: Int?

    func validate() throws {
        if let m = maxLength, m < 2 {
            throw ValidationError("--max-length must be at least 2 ([CLS] and [SEP]), got \(m)")
        }
    }

    func run() throws {
        let tokenizer = try BertTokenizer(vocabFile: URL(fileURLWithPath: vocab))
        // readLine strips the line terminator ("\n" or "\r\n").
        while let line = readLine(strippingNewline: true) {
            print(tokenizer.encode(line, maxLength: maxLength).map(String.init).joined(separator: " "))
        }
    }
}
