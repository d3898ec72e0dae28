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
        // The largest magnitude as a bit pattern (sign cleared), in parallel chunks: NaN and
        // ±inf have the largest patterns of all (exponent all ones), so one maximum finds both.
        let n = features.count, chunk = 1 << 16, chunks = (n + chunk - 1) / chunk
        var tops = [UInt32](repeating: 0, count: chunks)
        features.data.withUnsafeBytes { raw in tops.withUnsafeMutableBufferPointer { pt in
            let bits = raw.bindMemory(to: UInt32.self).baseAddress, out = pt.baseAddress
            parallelFor(chunks) { range in
                for c in range {
                    var m: UInt32 = 0
                    for i in (c * chunk)..<min(n, (c + 1) * chunk) { m = max(m, bits![i] & 0x7fff_ffff) }
                    out![c] = m
                }
            }
        } }
        let top = tops.max() ?? 0
        if top >= 0x7f80_0000, let v = features.data.first(where: { !$0.isFinite }) {
            throw RunnerError.invalid("feature cache: the backbone's \(name) features hold \(v) (non-finite backbone output; check the weight file)")
        }
        let worst = Float(bitPattern: top)
        if dtype == .float16 && worst > float16Max {
            throw RunnerError.invalid("feature cache: the backbone's \(name) features reach \(worst), beyond Float16's range (±65,504); set training.feature_cache.dtype: float32")
        }
    }
}
