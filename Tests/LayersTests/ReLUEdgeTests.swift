import Layers
import Tensors
import XCTest

/// ReLU's element rules, bit for bit, on the values a branch-free loop could get wrong: -0 stays
/// -0 (it is not < 0), NaN passes, and the backward zeroes (+0) exactly where y <= 0.
final class ReLUEdgeTests: XCTestCase {
    func testSignedZeroNaNAndInfinity() {
        let relu = ReLU()
        let x: [Float] = [-1, -0.0, 0, 2, .nan, -.infinity, .infinity, -Float.leastNonzeroMagnitude, 3, -2, 0.5, -0.0, 7, -7, 1, -1, .nan]
        let y = relu.forward(Tensor(shape: [x.count], data: x))
        let want: [Float] = [0, -0.0, 0, 2, .nan, 0, .infinity, 0, 3, 0, 0.5, -0.0, 7, 0, 1, 0, .nan]
        XCTAssertEqual(y.data.map(\.bitPattern), want.map(\.bitPattern))
        let d: [Float] = (0..<x.count).map { Float($0) - 5.5 }
        let dx = relu.backward(Tensor(shape: [x.count], data: d))
        let keep = want.map { !($0 <= 0) }  // NaN keeps the gradient
        XCTAssertEqual(dx.data.map(\.bitPattern), zip(d, keep).map { $1 ? $0.bitPattern : Float(0).bitPattern })
    }
}
