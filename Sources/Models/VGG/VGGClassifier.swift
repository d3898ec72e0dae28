import Layers
import Tensors

/// torchvision VGG's `avgpool` and `classifier.0...5` (`torchvision/models/vgg.py`):
/// AdaptiveAvgPool2d((7, 7)) -> flatten -> Linear(C*7*7, 4096) -> ReLU -> Dropout ->
/// Linear(4096, 4096) -> ReLU -> Dropout. Part of the MainNet body (trained in the joint
/// regimes, loaded from torchvision's `classifier.0.*` / `classifier.3.*`); the MainNet head
/// reads its output and replaces `classifier.6`, as ResNet's head replaces `fc`.
/// At 32x32 the last map is 1x1 and the 7x7 pool copies it 49 times, as torchvision does.
public final class VGGClassifier {
    public let fc0: Linear, fc3: Linear
    private let avgpool = AdaptiveAvgPoolGrid(outputHeight: VGGConfig.pooledSize, outputWidth: VGGConfig.pooledSize)
    private let flatten = Flatten()
    private let relu1 = ReLU(), relu4 = ReLU()
    /// classifier.2 and classifier.5; their generators are derived from the model's dropout
    /// generator (`reseed`), so reseeding replays the same masks.
    private let drop2: Dropout, drop5: Dropout

    /// torchvision's init: Linear weight ~ N(0, 0.01), bias 0.
    public init(config: VGGConfig, rng: inout SeededGenerator) {
        fc0 = Linear(inFeatures: config.classifierInput, outFeatures: config.classifierWidth, rng: &rng)
        fc3 = Linear(inFeatures: config.classifierWidth, outFeatures: config.classifierWidth, rng: &rng)
        for fc in [fc0, fc3] {
            fc.weight.value = Tensor.normal(fc.weight.shape, std: 0.01, rng: &rng)
            fc.bias?.value = Tensor(zeros: [fc.outFeatures])
        }
        drop2 = Dropout(p: Float(config.dropout), rng: rng.derived("classifier.2"))
        drop5 = Dropout(p: Float(config.dropout), rng: rng.derived("classifier.5"))
    }

    /// Keys under `classifier.`: "0.weight", "0.bias", "3.weight", "3.bias".
    public func namedParameters() -> [(String, Parameter)] {
        scoped("0", fc0.namedParameters()) + scoped("3", fc3.namedParameters())
    }

    /// Restarts both dropout masks' streams from `generator`.
    public func reseed(_ generator: SeededGenerator) {
        drop2.rng = generator.derived("classifier.2")
        drop5.rng = generator.derived("classifier.5")
    }

    // a [N, C, h, w] -> [N, C, 7, 7] -> [N, C*49] -> [N, W] -> [N, W]
    public func forward(_ a: Tensor, mode: Mode) -> Tensor {
        let h = drop2.forward(relu1.forward(fc0.forward(flatten.forward(avgpool.forward(a)))), mode: mode)
        return drop5.forward(relu4.forward(fc3.forward(h)), mode: mode)
    }

    /// dOut [N, W] -> d a [N, C, h, w] (weight gradients accumulated into fc0 / fc3).
    public func backward(_ d: Tensor) -> Tensor {
        let dh = relu1.backward(drop2.backward(fc3.backward(relu4.backward(drop5.backward(d)))))
        return avgpool.backward(flatten.backward(fc0.backward(dh)))
    }
}
