import Tensors

/// Per-channel normalisation applied to [0,1] pixels: x' = (x - mean[c]) / std[c], the same
/// subtract-then-divide as torchvision `Normalize`. Constants from formats.md §1.3.
public enum ImageNormalization: String, Sendable, CaseIterable {
    /// torchvision ImageNet constants (all pretrained classifiers).
    case imagenet
    /// Exact CIFAR-10 training-set per-channel statistics (population std over all pixels).
    case cifar
    /// Leave pixels in [0,1].
    case none

    public static var allNames: [String] { allCases.map(\.rawValue) }

    /// Looks a normalisation up by name (`imagenet`, `cifar`, `none`; case-insensitive).
    public init(name: String) throws {
        guard let n = ImageNormalization(rawValue: name.lowercased()) else {
            throw CIFARError.unknownNormalization(name: name)
        }
        self = n
    }

    /// (R,G,B) means, or nil for `none`.
    public var mean: [Float]? {
        switch self {
        case .imagenet: return [0.485, 0.456, 0.406]
        case .cifar: return [0.49139968, 0.48215841, 0.44653091]
        case .none: return nil
        }
    }

    /// (R,G,B) standard deviations, or nil for `none`.
    public var std: [Float]? {
        switch self {
        case .imagenet: return [0.229, 0.224, 0.225]
        case .cifar: return [0.24703223, 0.24348513, 0.26158784]
        case .none: return nil
        }
    }

    /// Normalises an [N,3,H,W] tensor in place.
    public func apply(_ x: inout Tensor) {
        guard let mean, let std else { return }
        precondition(x.rank == 4 && x.shape[1] == 3, "normalise expects [N,3,H,W], got \(x.shape)")
        let (n, plane) = (x.shape[0], x.shape[2] * x.shape[3])
        x.data.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                for c in 0..<3 {
                    let base = (i * 3 + c) * plane
                    let (m, s) = (mean[c], std[c])
                    for k in base..<(base + plane) { p[k] = (p[k] - m) / s }
                }
            }
        }
    }
}
