import Layers
import Models
import Tensors
import XCTest

/// Several SideNets: names, one-pass outputs, and summed activation gradients in backwardAll.
final class ResNetMultiSideNetTests: XCTestCase {
    func testTwoSideNetsMatchSingleSideNetPaths() throws {
        var rng = SeededGenerator(seed: 21)
        let config = ResNetConfig.preset("resnet-tiny-basic", numClasses: 3)!
        let attach = [ResNetAttachPoint.layer1, try ResNetAttachPoint(parsing: "layer3.0")]
        let m = try makeResNetModel(config: config, inputHeight: 32, inputWidth: 32, attach: attach, rng: &rng)
        m.computesInputGradient = true
        XCTAssertTrue(m.stateDict().keys.contains("sidenets.1.fc1.weight"))
        XCTAssertFalse(m.stateDict().keys.contains { $0.hasPrefix("sidenet.") })
        XCTAssertEqual(m.sideNets[1].inFeatures, 32 * 2 * 2)   // layer3 of width 8 at 32x32: [32, 2, 2]
        let x = Tensor.normal([3, 3, 32, 32], rng: &rng)
        let dMain = Tensor.normal([3, 3], rng: &rng), dS0 = Tensor.normal([3, 3], rng: &rng), dS1 = Tensor.normal([3, 3], rng: &rng)

        let all = m.forwardAll(x, mode: .eval)
        let dxAll = m.backwardAll(main: dMain, side: [dS0, dS1])

        // SideNet 0 path with the main loss, then SideNet 1 path with its loss only.
        let a0 = m.forwardPrefix(x, mode: .eval, sideNet: 0)
        let s0 = m.sideLogits(a0, mode: .eval, sideNet: 0)
        let main = m.forwardRest(a0, mode: .eval, sideNet: 0)
        let dx0 = m.backwardPrefix(add(m.backwardRest(dMain, sideNet: 0), m.backwardSide(dS0, sideNet: 0)), sideNet: 0)
        let a1 = m.forwardPrefix(x, mode: .eval, sideNet: 1)
        let s1 = m.sideLogits(a1, mode: .eval, sideNet: 1)
        let dx1 = m.backwardPrefix(m.backwardSide(dS1, sideNet: 1), sideNet: 1)

        assertClose(all.main, main, "main logits")
        assertClose(all.side[0], s0, "SideNet 0 logits")
        assertClose(all.side[1], s1, "SideNet 1 logits")
        assertClose(dxAll, add(dx0, dx1), atol: 1e-6, rtol: 1e-4, "dx of backwardAll vs sum of the two paths")
    }
}
