import Specs
import Tensors

/// What the feature cache accepts from the backbone: finite values, within ±65,504 (Float16's
/// largest finite value) when it stores half precision. Beyond that the cast gives ±inf, and
/// training would stop later with a non-finite loss that names neither the features nor the fix.
public enum FeatureRange {
    public static let float16Max: Float = 65504

    /// Throws `RunnerError.invalid` naming `name` ("attach" or "head") and the fix when `features`
    /// holds a NaN or infinity, or (float16) a magnitude above 65,504.
    public static func check(_ features: Tensor, name: String, dtype: FeatureCacheDType) throws {
        var worst: Float = 0
        for v in features.data {
            if !v.isFinite {
                throw RunnerError.invalid("feature cache: the backbone's \(name) features hold \(v) (non-finite backbone output; check the weight file)")
            }
            worst = max(worst, abs(v))
        }
        if dtype == .float16 && worst > float16Max {
            throw RunnerError.invalid("feature cache: the backbone's \(name) features reach \(worst), beyond Float16's range (±65,504); set training.feature_cache.dtype: float32")
        }
    }
}
