/// A learnable tensor with its gradient. Backward passes *add* into `grad` (llm.c convention);
/// the trainer zeroes gradients before each step. A frozen parameter is skipped by optimizers
/// (and layers may skip computing its gradient).
public final class Parameter {
    /// Every write to `value` (assignment or in-place, e.g. an optimizer step) bumps `version`,
    /// so that values derived from it (BatchNorm folded into a convolution) know when to rebuild.
    public var value: Tensor { didSet { version &+= 1 } }
    public private(set) var version = 0
    /// The gradient, allocated (zeros of the value's shape) on first use: a frozen backbone
    /// whose parameters never run backward (BERT-large: 1.2 GB) never holds one.
    public var grad: Tensor {
        get { gradStorage ?? Tensor(zeros: value.shape) }
        _modify {
            if gradStorage == nil { gradStorage = Tensor(zeros: value.shape) }
            yield &gradStorage!
        }
        set { gradStorage = newValue }
    }
    private var gradStorage: Tensor?
    public var frozen: Bool

    public init(_ value: Tensor, frozen: Bool = false) {
        self.value = value
        self.frozen = frozen
    }

    public var shape: [Int] { value.shape }

    /// Whether a gradient has been allocated (see `grad`).
    public var hasGradient: Bool { gradStorage != nil }

    public func zeroGrad() {
        guard gradStorage != nil else { return }  // never used: still reads as zeros
        if gradStorage!.shape != value.shape { gradStorage = Tensor(zeros: value.shape); return }
        gradStorage!.data.withUnsafeMutableBufferPointer { p in
            if let base = p.baseAddress { base.update(repeating: 0, count: p.count) }
        }
    }
}

/// Non-learnable state saved with a model (BatchNorm running statistics).
public final class Buffer {
    /// Bumped by every write to `value` (see `Parameter.version`).
    public var value: Tensor { didSet { version &+= 1 } }
    public private(set) var version = 0
    public init(_ value: Tensor) { self.value = value }
}

/// Anything holding parameters or buffers under PyTorch `state_dict` names.
/// Containers prefix their children's names with the child's module name and a dot, so the
/// full keys are exactly torchvision's / HuggingFace's (`layer1.0.conv1.weight`).
public protocol Module: AnyObject {
    /// Learnable parameters with their keys relative to this module.
    func namedParameters() -> [(String, Parameter)]
    /// Buffers (running statistics) with their keys relative to this module.
    func namedBuffers() -> [(String, Buffer)]
}

extension Module {
    public func namedBuffers() -> [(String, Buffer)] { [] }

    /// Total number of learnable scalars (BatchNorm buffers excluded).
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.1.value.count } }

    /// Parameters and buffers as a flat name -> tensor dictionary.
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (k, p) in namedParameters() { d[k] = p.value }
        for (k, b) in namedBuffers() { d[k] = b.value }
        return d
    }

    public func zeroGrad() { for (_, p) in namedParameters() { p.zeroGrad() } }

    public func setFrozen(_ frozen: Bool) { for (_, p) in namedParameters() { p.frozen = frozen } }
}

/// Prefixes child keys: `scoped("layer1.0", child.namedParameters())`.
public func scoped<T>(_ prefix: String, _ items: [(String, T)]) -> [(String, T)] {
    items.map { (prefix.isEmpty ? $0.0 : prefix + "." + $0.0, $0.1) }
}
