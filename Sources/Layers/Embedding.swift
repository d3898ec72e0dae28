import Tensors

/// Lookup table, PyTorch `nn.Embedding(num_embeddings, embedding_dim)` (init N(0, 1)).
/// Shapes: ids [...] (Int32) -> [..., dim]; weight [numEmbeddings, dim].
public final class Embedding: Module {
    public let numEmbeddings: Int
    public let dim: Int
    public let weight: Parameter
    private var cachedIds: [Int32] = []

    public init(numEmbeddings: Int, dim: Int, rng: inout SeededGenerator) {
        self.numEmbeddings = numEmbeddings
        self.dim = dim
        weight = Parameter(Tensor.normal([numEmbeddings, dim], rng: &rng))
    }

    public func namedParameters() -> [(String, Parameter)] { [("weight", weight)] }

    // ids [B, T] -> [B, T, dim]
    public func forward(ids: [Int32], shape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(shape) == ids.count, "Embedding: \(ids.count) ids for shape \(shape)")
        var y = Tensor(zeros: shape + [dim])
        weight.value.data.withUnsafeBufferPointer { pw in y.data.withUnsafeMutableBufferPointer { py in
            for (r, id) in ids.enumerated() {
                precondition(id >= 0 && Int(id) < numEmbeddings, "Embedding: id \(id) out of range 0..<\(numEmbeddings)")
                (py.baseAddress! + r * dim).update(from: pw.baseAddress! + Int(id) * dim, count: dim)
            }
        } }
        cachedIds = ids
        return y
    }

    /// weight.grad[id] += dOut row, for every looked-up id (repeated ids accumulate).
    public func backward(_ dOut: Tensor) {
        precondition(dOut.count == cachedIds.count * dim, "Embedding.backward: dOut \(dOut.shape) for \(cachedIds.count) ids")
        if weight.frozen { return }
        dOut.data.withUnsafeBufferPointer { pd in weight.grad.data.withUnsafeMutableBufferPointer { pg in
            for (r, id) in cachedIds.enumerated() {
                let src = pd.baseAddress! + r * dim, dst = pg.baseAddress! + Int(id) * dim
                for j in 0..<dim { dst[j] += src[j] }
            }
        } }
    }
}
