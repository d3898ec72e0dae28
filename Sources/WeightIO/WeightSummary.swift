/// Counts over a set of stored tensors, as `sidenet inspect` prints them.
public struct WeightSummary: Equatable {
    /// Number of tensors.
    public let tensorCount: Int
    /// Elements of all tensors (any dtype).
    public let elementCount: Int
    /// Elements of floating-point tensors that are learnable parameters: BatchNorm buffers
    /// (names ending in running_mean / running_var / num_batches_tracked) are excluded.
    public let parameterCount: Int

    public init(_ tensors: [String: StoredTensor]) {
        tensorCount = tensors.count
        elementCount = tensors.values.reduce(0) { $0 + $1.elementCount }
        parameterCount = tensors.reduce(0) { $0 + (WeightSummary.isParameter(name: $1.key, dtype: $1.value.dtype) ? $1.value.elementCount : 0) }
    }

    /// True for floating tensors that are not BatchNorm running statistics.
    public static func isParameter(name: String, dtype: DType) -> Bool {
        dtype.isFloatingPoint && !["running_mean", "running_var", "num_batches_tracked"].contains { name.hasSuffix($0) }
    }
}
