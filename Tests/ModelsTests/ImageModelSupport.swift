import Layers
import Models
import Tensors

// Image MainNets in tests: a ResNet `SideNetModel` built from a typed `ResNetConfig` (as the
// registry builds it) and tensor-in, tensor-out spellings of the model's calls.

/// A ResNet with SideNets at `attach`, seeded like `ResNetFamily.makeModel` (backbone, head and
/// SideNets from generators derived from `rng`).
func makeResNetModel(config: ResNetConfig, inputHeight: Int, inputWidth: Int, attach: [ResNetAttachPoint] = [.layer1],
                     hidden: Int = 32, headHidden: Int? = nil, rng: inout SeededGenerator) throws -> SideNetModel {
    precondition(inputHeight == inputWidth, "square inputs only")
    let family = ResNetFamily()
    let fields = ResNetFamily.fields(config)
    let context = MainNetContext(inputSize: inputHeight, outputs: config.numClasses)
    var backboneRNG = rng.derived("backbone")
    let backbone = try family.makeBackbone(fields, context: context, rng: &backboneRNG)
    let points = try attach.map { (name: $0.description, unit: try family.attachUnit($0.description, config: fields)!) }
    let m = try SideNetModel(backbone: backbone, plan: try family.plan(fields, context: context), attach: points,
                             hidden: hidden, headHidden: headHidden, outputs: config.numClasses, rng: &rng)
    m.weightNaming = family.weightNaming
    return m
}

extension SideNetModel {
    var resNet: ResNet { backbone as! ResNet }

    func forwardPrefix(_ x: Tensor, mode: Mode, sideNet i: Int = 0) -> Tensor {
        try! forwardPrefix(MainNetActivation(images: x), mode: mode, sideNet: i).tensor
    }
    /// activation [N, C, h, w] -> SideNet logits (the SideNet flattens it).
    func sideLogits(_ a: Tensor, mode: Mode, sideNet i: Int = 0) -> Tensor { sideNets[i].forward(a, mode: mode) }
    func backwardSide(_ d: Tensor, sideNet i: Int = 0) -> Tensor { sideNets[i].backward(d) }
    func forwardRest(_ a: Tensor, mode: Mode, sideNet i: Int = 0) -> Tensor {
        try! forwardRest(MainNetActivation(a), mode: mode, sideNet: i)
    }
    func forwardAll(_ x: Tensor, mode: Mode) -> (main: Tensor, side: [Tensor]) {
        try! forwardAll(MainNetActivation(images: x), mode: mode)
    }
    func cacheFeatures(_ x: Tensor, mode: Mode = .eval) -> (attach: [Tensor], features: Tensor) {
        try! cacheFeatures(MainNetActivation(images: x), mode: mode)
    }
    func headInputFeatures(_ x: Tensor, mode: Mode = .eval) -> Tensor { resNet.features(x, mode: mode) }
    func headLogits(_ features: Tensor, mode: Mode) -> Tensor { head.forward(features, mode: mode) }
    func earlyExit(_ x: Tensor, theta: Float, sideNet i: Int = 0) throws -> [EarlyExitResult] {
        try earlyExit(MainNetActivation(images: x), theta: theta, sideNet: i)
    }
}
