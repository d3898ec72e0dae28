import Layers
import Tensors

/// One convolution followed by an eval-mode BatchNorm with random statistics and affine
/// parameters, an input batch of 3, a residual, and the layers' output in turn (the reference
/// for fused/folded paths): conv, then BatchNorm (+ residual) (+ ReLU). Drawn from `rng` in
/// that order: conv init, γ, β, running mean, running var, input, residual.
struct ConvBatchNormCase {
    let conv: Conv2d
    let bn: BatchNorm
    let x: Tensor          // [3, c, hw, hw]
    let residual: Tensor   // the conv output's shape
    let reference: Tensor  // the layers in turn

    init(c: Int, o: Int, k: Int, s: Int, hw: Int, bias: Bool, useResidual: Bool, relu: Bool, rng: inout SeededGenerator) {
        conv = Conv2d(inChannels: c, outChannels: o, kernelSize: k, stride: s, padding: k / 2, bias: bias, rng: &rng)
        bn = BatchNorm(numFeatures: o)
        bn.weight.value = Tensor.uniform([o], low: -1.5, high: 1.5, rng: &rng)
        bn.bias.value = Tensor.normal([o], rng: &rng)
        bn.runningMean.value = Tensor.normal([o], std: 0.5, rng: &rng)
        bn.runningVar.value = Tensor.uniform([o], low: 0.1, high: 3, rng: &rng)
        x = Tensor.normal([3, c, hw, hw], rng: &rng)
        let y0 = conv.forward(x)
        residual = Tensor.normal(y0.shape, rng: &rng)
        reference = bn.forward(y0, mode: .eval, residual: useResidual ? residual : nil, relu: relu)
    }
}
