import XCTest
import Runner
import Specs
import Tensors

/// The feature cache refuses backbone features it cannot store: non-finite values in any dtype,
/// magnitudes beyond Float16's ±65,504 in a float16 cache (the cast would give ±inf, and training
/// would stop later on a non-finite loss naming neither the features nor the fix).
final class FeatureRangeTests: XCTestCase {
    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    func testFloat16RefusesMagnitudesBeyondItsRangeAndNamesTheFix() {
        let big = Tensor(shape: [2, 3], data: [1, -2, 3, 4, -65505, 6])
        let m = message { try FeatureRange.check(big, name: "head", dtype: .float16) }
        XCTAssertNotNil(m)
        XCTAssertTrue(m?.contains("head") ?? false, m ?? "")
        XCTAssertTrue(m?.contains("feature_cache.dtype: float32") ?? false, m ?? "")
        XCTAssertNil(message { try FeatureRange.check(big, name: "head", dtype: .float32) }, "float32 stores it exactly")
    }

    func testTheLargestFiniteHalfIsAccepted() {
        let edge = Tensor(shape: [1, 2], data: [65504, -65504])
        XCTAssertNil(message { try FeatureRange.check(edge, name: "attach", dtype: .float16) })
    }

    func testNonFiniteFeaturesAreRefusedInEveryDType() {
        for bad in [Float.nan, .infinity, -.infinity] {
            let t = Tensor(shape: [1, 3], data: [0, bad, 1])
            for dtype in FeatureCacheDType.allCases {
                let m = message { try FeatureRange.check(t, name: "attach", dtype: dtype) }
                XCTAssertTrue(m?.contains("attach") ?? false, "\(bad) \(dtype): \(m ?? "accepted")")
            }
        }
    }
}
