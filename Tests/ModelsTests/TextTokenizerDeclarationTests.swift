import XCTest
import Models

/// The tokenizer the runner builds for a text MainNet comes from the family's declaration: every
/// registered text family declares one (uncased WordPiece for BERT and DistilBERT), no image
/// family does.
final class TextTokenizerDeclarationTests: XCTestCase {
    func testEveryTextFamilyDeclaresItsTokenizer() throws {
        for family in MainNetRegistry.families {
            switch family.inputKind {
            case .text: XCTAssertEqual(family.textTokenizer, .uncasedWordPiece, family.name)
            case .images: XCTAssertNil(family.textTokenizer, family.name)
            }
        }
        XCTAssertFalse(MainNetRegistry.families.filter { $0.inputKind == .text }.isEmpty)
    }
}
