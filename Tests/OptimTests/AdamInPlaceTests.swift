import Optim
import Tensors
import XCTest

/// Adam updates a parameter's values in place: a step must not copy the value array (a
/// 16,384 x 32 layer is 2 MB; the copy cost a few percent of head training on cached features).
final class AdamInPlaceTests: XCTestCase {
    private func storage(_ p: Parameter) -> UnsafePointer<Float>? { p.value.data.withUnsafeBufferPointer { $0.baseAddress } }

    func testStepUpdatesTheValueArrayInPlace() {
        let p = Parameter(Tensor(shape: [64, 33], data: (0..<(64 * 33)).map { Float($0 % 17) / 17 - 0.5 }))
        let other = Parameter(Tensor(shape: [5], data: [1, 2, 3, 4, 5]))
        let adam = Adam(parameters: [("w", p), ("b", other)], lr: 1e-2)
        for step in 1...3 {
            adam.zeroGrad()
            p.grad = Tensor(shape: p.shape, data: (0..<p.value.count).map { Float(($0 * 7 + step) % 13) - 6 })
            other.grad = Tensor(shape: [5], data: [1, -1, 1, -1, 1])
            let before = storage(p), values = p.value.data.map { $0 }, version = p.version  // a copy: no second owner
            adam.step(only: { $0 === p })
            XCTAssertEqual(storage(p), before, "step \(step): the value array was copied")
            XCTAssertNotEqual(p.value.data, values, "step \(step) moved the parameter")
            XCTAssertNotEqual(p.version, version, "a step is a write: the version advances")
            XCTAssertEqual(adam.stepCount(of: "w"), step)
            XCTAssertEqual(adam.stepCount(of: "b"), 0, "only the selected parameter steps")
            XCTAssertEqual(other.value.data, [1, 2, 3, 4, 5])
        }
    }
}
