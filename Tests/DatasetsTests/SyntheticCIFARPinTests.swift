import Datasets
import XCTest

/// The generated images are pinned: the runner's result pins (Tests/Fixtures/runner) and the
/// README's demo figures were made from exactly these bytes, so a change to the painter that
/// moves a pixel must be deliberate (re-record the pins, rerun the demo) and shows up here first.
final class SyntheticCIFARPinTests: XCTestCase {
    /// FNV-1a over labels, difficulty and pixels.
    private func digest(_ g: SyntheticCIFAR.Generated) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        g.images.labels.forEach(mix)
        g.hard.forEach { mix($0 ? 1 : 0) }
        g.images.pixels.forEach(mix)
        return h
    }

    /// Re-recorded on branch `demo3` (issue 11, item 3): the clutter of hard images is now drawn
    /// in class-palette colours and up to radius 4 px (easy images are unchanged). The earlier
    /// pins were recorded from the painter before it was split into layout / draw / background /
    /// quantise (main 5e0d653's `sidenet data synth cifar10` wrote the same bytes).
    func testImagesAreBitIdenticalToTheRecordedPainter() {
        let mixed = SyntheticCIFAR.generate(count: 300, seed: 3, hardFraction: 0.5, split: "train")
        let hard = SyntheticCIFAR.generate(count: 100, seed: 9, hardFraction: 1, split: "test")
        XCTAssertEqual(String(digest(mixed), radix: 16), "777cf2a8e7e294f8")
        XCTAssertEqual(String(digest(hard), radix: 16), "31f00777dfb39b3f")
    }
}
