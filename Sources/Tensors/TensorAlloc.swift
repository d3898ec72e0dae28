extension Tensor {
    /// A tensor whose elements are NOT initialised (whatever the allocator returns). For kernels
    /// that overwrite every element before anyone reads it (saves the zero-fill pass).
    public init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        let count = Tensor.elementCount(shape)
        self.init(shape: shape, data: [Float](unsafeUninitializedCapacity: count) { _, n in n = count })
    }
}
