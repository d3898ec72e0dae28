import Tensors
import Layers

/// The paper's MLP (SideNet and MainNet head): Linear(in, hidden) -> BatchNorm1d -> ReLU ->
/// Linear(hidden, outputs); logits out (sigmoid/softmax applied by the loss or `Prediction`).
/// Names `fc1.*`, `bn.*` (with running stats), `fc2.*`.
/// Local equivalent of branch resnet's MLPHead (same names and semantics), used by the text
/// MainNet until that type is merged. TODO(merge): replace with MLPHead.
public final class TransformerMLPHead: Module {
    public let fc1: Linear
    public let bn: BatchNorm
    public let fc2: Linear
    private let relu = ReLU()

    /// PyTorch default init for both Linear layers (seeded), BatchNorm weight 1 / bias 0.
    public init(inFeatures: Int, hidden: Int = 32, outputs: Int, rng: inout SeededGenerator) {
        fc1 = Linear(inFeatures: inFeatures, outFeatures: hidden, rng: &rng)
        bn = BatchNorm(numFeatures: hidden)
        fc2 = Linear(inFeatures: hidden, outFeatures: outputs, rng: &rng)
    }

    public func namedParameters() -> [(String, Parameter)] {
        scoped("fc1", fc1.namedParameters()) + scoped("bn", bn.namedParameters()) + scoped("fc2", fc2.namedParameters())
    }

    public func namedBuffers() -> [(String, Buffer)] { scoped("bn", bn.namedBuffers()) }

    // x [B, in] -> logits [B, outputs]
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        fc2.forward(relu.forward(bn.forward(fc1.forward(x), mode: mode)))
    }

    // dLogits [B, outputs] -> dx [B, in]
    public func backward(_ dLogits: Tensor) -> Tensor {
        fc1.backward(bn.backward(relu.backward(fc2.backward(dLogits))))
    }
}
