import Layers
import Tensors

/// What flows between the units of a MainNet: the examples' tensor ([N, C, H, W] images and
/// feature maps, [B, T, D] hidden states) and, for text, the padding mask [B, T] and, before
/// unit 0, the token ids [B*T].
public struct MainNetActivation {
    public var tensor: Tensor
    public var mask: Tensor?
    public var tokenIDs: [Int]?

    public init(_ tensor: Tensor, mask: Tensor? = nil) {
        self.tensor = tensor
        self.mask = mask
    }

    /// The input of an image MainNet: x [N, 3, H, W].
    public init(images x: Tensor) { self.init(x) }

    /// The input of a text MainNet: token ids and mask.
    public init(tokens batch: TokenBatch) {
        self.init(Tensor(zeros: [0]), mask: batch.mask)
        tokenIDs = batch.ids
    }

    /// Number of examples.
    public var batchSize: Int { mask?.shape[0] ?? tensor.shape[0] }

    /// The examples at `rows`, in that order (tensor, mask and ids together).
    public func gatherRows(_ rows: [Int]) -> MainNetActivation {
        var out = MainNetActivation(tensor.count == 0 ? tensor : tensor.gatherRows(rows), mask: mask?.gatherRows(rows))
        if let ids = tokenIDs, let t = mask?.shape[1] {
            out.tokenIDs = rows.flatMap { ids[($0 * t)..<(($0 + 1) * t)] }
        }
        return out
    }

    /// The examples of `parts` one after the other (tensor, mask and ids together). Throws when
    /// the per-example shapes differ (text batches padded to different lengths).
    public static func concatRows(_ parts: [MainNetActivation]) throws -> MainNetActivation {
        guard let first = parts.first else { throw ModelError.badInput("concatRows: no activations to join") }
        for p in parts {
            guard p.tensor.shape.dropFirst() == first.tensor.shape.dropFirst(),
                  p.mask?.shape.dropFirst() == first.mask?.shape.dropFirst(), (p.tokenIDs == nil) == (first.tokenIDs == nil) else {
                throw ModelError.badInput("concatRows: activation \(p.tensor.shape) (mask \(p.mask?.shape ?? [])) does not match "
                                          + "\(first.tensor.shape) (mask \(first.mask?.shape ?? []))")
            }
        }
        var out = MainNetActivation(first.tensor.count == 0 ? first.tensor : Tensor.concatRows(parts.map(\.tensor)),
                                    mask: first.mask.map { _ in Tensor.concatRows(parts.map { $0.mask! }) })
        if first.tokenIDs != nil { out.tokenIDs = parts.flatMap { $0.tokenIDs! } }
        return out
    }
}

/// A MainNet body as a sequence of units (unit 0: stem / embeddings; then blocks), which is how
/// `SideNetModel` builds the prefix up to an attach point and the remainder after it.
/// Backward runs in reverse over the units of the last forward in train mode (or any forward
/// for image backbones, which cache until `clearCaches`).
public protocol MainNetBackbone: Module {
    var unitCount: Int { get }
    /// Runs units `range` on `a` (range starting at 0: `a` is the MainNet input).
    func forwardUnits(_ a: MainNetActivation, _ range: Range<Int>, mode: Mode) throws -> MainNetActivation
    /// Gradient w.r.t. the output of the last unit of `range` -> w.r.t. its input (shape [0] from unit 0).
    func backwardUnits(_ d: Tensor, _ range: Range<Int>) -> Tensor
    /// Activation -> SideNet input [N, F] (flattened feature map, [CLS] state).
    func sideInput(_ a: MainNetActivation) -> Tensor
    /// dSideInput [N, F] -> gradient w.r.t. the activation tensor of shape `shape`.
    func sideInputBackward(_ d: Tensor, shape: [Int]) -> Tensor
    /// Output of the last unit -> head input [N, F] (pooled features, pooler output).
    func headInput(_ a: MainNetActivation, mode: Mode) -> Tensor
    /// dHeadInput -> gradient w.r.t. the output of the last unit.
    func headInputBackward(_ d: Tensor) -> Tensor
    /// Frees what backward needed.
    func clearCaches()
    /// Re-seeds training randomness (dropout) inside the backbone.
    func reseedDropout(_ rng: SeededGenerator)
    /// Whether unit 0's backward computes the input gradient (images; off by default).
    var computesInputGradient: Bool { get set }
    /// An eval-only pass giving exactly what the feature cache stores (the SideNet inputs after
    /// `attachUnits` and the head input), or nil to run the units one by one (the default).
    func cacheFeatures(_ x: MainNetActivation, attachUnits: [Int]) throws -> (attach: [Tensor], head: Tensor)?
}

extension MainNetBackbone {
    public func cacheFeatures(_ x: MainNetActivation, attachUnits: [Int]) throws -> (attach: [Tensor], head: Tensor)? { nil }
}

extension MainNetBackbone {
    public func reseedDropout(_ rng: SeededGenerator) {}
}
