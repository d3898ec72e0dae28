import Layers
import Models
import Tensors

/// A ResNet (no fc) whose BatchNorms have non-trivial running statistics, γ and β (drawn from
/// `seed` after the initialisation), so eval-mode paths that fold or reorder BatchNorm are
/// tested on more than the identity: running mean N(0, 0.3²), running var U(0.5, 2), γ U(0.5,
/// 1.5), β N(0, 0.2²), also for the downsample branch's BatchNorm.
func resNetWithRandomBatchNorm(_ config: ResNetConfig, seed: UInt64) -> ResNet {
    var rng = SeededGenerator(seed: seed)
    let net = ResNet(config: config, includeFC: false, rng: &rng)
    for (key, b) in net.namedBuffers() {
        let c = b.value.count
        if key.hasSuffix("running_mean") { b.value = Tensor.normal([c], std: 0.3, rng: &rng) }
        if key.hasSuffix("running_var") { b.value = Tensor.uniform([c], low: 0.5, high: 2, rng: &rng) }
    }
    for (key, p) in net.namedParameters() where key.contains("bn") || key.contains("downsample.1") {
        let c = p.value.count
        p.value = key.hasSuffix("weight") ? Tensor.uniform([c], low: 0.5, high: 1.5, rng: &rng) : Tensor.normal([c], std: 0.2, rng: &rng)
    }
    return net
}
