import Layers
import Tensors

/// The paper's classifier, used as the MainNet head (replacing torchvision's `fc`) and as the
/// SideNet: flatten -> Linear(in, hidden) -> BatchNorm1d(hidden) -> ReLU -> Linear(hidden, outputs).
///
/// Order: the paper's method section lists "fully connected, ReLU, batch normalisation, fully
/// connected" while its experiments section (section 4) says "hidden layer with 32 units, a
/// batchnorm layer, a ReLU layer, and a classification layer"; we follow the experiments
/// section (Linear -> BN -> ReLU -> Linear). `outputs` = number of classes (softmax) or 1
/// (one sigmoid logit for binary tasks). Keys: fc1.weight, fc1.bias, bn.weight, bn.bias,
/// bn.running_mean, bn.running_var, bn.num_batches_tracked, fc2.weight, fc2.bias.
public final class MLPHead: Module {
    public let inFeatures: Int
    public let hidden: Int
    public let outputs: Int
    public let fc1: Linear
    public let bn: BatchNorm
    public let fc2: Linear
    private let relu = ReLU()
    private var inputShape: [Int] = []

    /// PyTorch default init for both Linear layers, BN weight 1 / bias 0.
    public init(inFeatures: Int, hidden: Int = 32, outputs: Int, rng: inout SeededGenerator) {
        self.inFeatures = inFeatures
        self.hidden = hidden
        self.outputs = outputs
        fc1 = Linear(inFeatures: inFeatures, outFeatures: hidden, rng: &rng)
        bn = BatchNorm(numFeatures: hidden)
        fc2 = Linear(inFeatures: hidden, outFeatures: outputs, rng: &rng)
    }

    public func namedParameters() -> [(String, Parameter)] {
        scoped("fc1", fc1.namedParameters()) + scoped("bn", bn.namedParameters()) + scoped("fc2", fc2.namedParameters())
    }

    public func namedBuffers() -> [(String, Buffer)] { scoped("bn", bn.namedBuffers()) }

    /// Sizes for compute accounting.
    public var shape: MLPHeadShape { MLPHeadShape(inFeatures: inFeatures, hidden: hidden, outputs: outputs) }

    // x [N, ...] (flattened to [N, inFeatures]) -> logits [N, outputs]
    public func forward(_ x: Tensor, mode: Mode) -> Tensor {
        precondition(x.rank >= 1 && x.count == x.shape[0] * inFeatures,
                     "MLPHead(\(inFeatures)->\(hidden)->\(outputs)): input shape \(x.shape) does not flatten to [N, \(inFeatures)]")
        inputShape = x.shape
        let flat = x.reshaped([x.shape[0], inFeatures])
        return fc2.forward(relu.forward(bn.forward(fc1.forward(flat), mode: mode)))
    }

    /// dLogits [N, outputs] -> dx in the input's shape; adds parameter gradients.
    public func backward(_ dLogits: Tensor) -> Tensor {
        fc1.backward(bn.backward(relu.backward(fc2.backward(dLogits)))).reshaped(inputShape)
    }

    /// The parameter gradients of `backward` alone, skipping dx (the [N, inFeatures] input
    /// gradient, a third of the work on wide inputs): for heads trained on cached features.
    public func backwardParameters(_ dLogits: Tensor) {
        let keep = fc1.computesInputGradient
        fc1.computesInputGradient = false
        defer { fc1.computesInputGradient = keep }
        _ = fc1.backward(bn.backward(relu.backward(fc2.backward(dLogits))))
    }
}
