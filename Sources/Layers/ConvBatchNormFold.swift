import Tensors

// Eval-mode Conv2d -> BatchNorm (-> + residual) (-> ReLU) as one convolution: the BatchNorm's
// running statistics are folded into the convolution's weights and bias,
//   s[o] = γ[o] / √(running_var[o] + eps),  W'[o] = W[o]·s[o],  b'[o] = β[o] − running_mean[o]·s[o] + b[o]·s[o],
// and b', the residual and the ReLU are applied to each output image as the GEMM (or Winograd's
// output transform) writes it (ConvEpilogue), so the activations are not swept again by a
// separate BatchNorm pass. W' (and its per-class packing for tiny maps, or its Winograd
// transform) is built once and kept until the convolution's weight or bias, or the BatchNorm's
// γ, β or running statistics change (their `version`s: an optimizer step or a train-mode forward
// rebuilds it at the next eval). Train mode never folds (batch statistics). The reference is the
// layers in turn (Conv2d.forward, BatchNorm.forward(residual:relu:)).

extension ConvTuning {
    /// Eval-mode BatchNorm folded into the preceding convolution (ResNet blocks). False: the
    /// layers in turn (the reference).
    nonisolated(unsafe) public static var foldBatchNorm = true
}

/// W' [O, C, k, k] and b' [O] of one (Conv2d, BatchNorm) pair, with the versions they were built from.
final class FoldedConvBatchNorm {
    let bn: ObjectIdentifier
    let versions: [Int]
    let weight: Tensor
    let bias: Tensor
    /// W' packed by tap class (`ConvTaps.pack`) for the last input height and width that needed it.
    var packed: (h: Int, w: Int, data: [Float])?
    /// W' transformed for Winograd F(2x2, 3x3) (U [16, O, C]; independent of the map size).
    var winograd: [Float]?
    /// W' transformed for Winograd F(4x4, 3x3) (U [36, O, C]; independent of the map size).
    var winograd4: [Float]?
    /// W' packed per output position for the channels-last kernel (ConvChannelsLast.swift), for the
    /// last input height and width that needed it.
    var channelsLast: ChannelsLastConv?

    init(conv: Conv2d, bn: BatchNorm, versions: [Int]) {
        self.bn = ObjectIdentifier(bn)
        self.versions = versions
        let o = conv.outChannels, per = conv.inChannels * conv.kernelSize * conv.kernelSize
        let gamma = bn.weight.value.data, beta = bn.bias.value.data
        let mean = bn.runningMean.value.data, variance = bn.runningVar.value.data
        let convBias = conv.bias?.value.data
        // the scale exactly as BatchNorm's eval forward computes its factors: invStd, then · γ
        let scale = (0..<o).map { 1 / (variance[$0] + bn.eps).squareRoot() * gamma[$0] }
        var w = conv.weight.value
        for oc in 0..<o { let sc = scale[oc]; for i in (oc * per)..<((oc + 1) * per) { w.data[i] *= sc } }
        weight = w
        bias = Tensor(shape: [o], data: (0..<o).map { beta[$0] - mean[$0] * scale[$0] + (convBias?[$0] ?? 0) * scale[$0] })
    }

    /// Whether this was built from `bn` and values with these versions.
    func matches(_ bn: BatchNorm, _ versions: [Int]) -> Bool { self.bn == ObjectIdentifier(bn) && self.versions == versions }
}

extension Conv2d {
    /// Eval-mode conv -> `bn` (running statistics) (+ residual) (+ ReLU) with `bn` folded into this
    /// convolution: x [N, C, H, W], residual [N, O, Ho, Wo] -> y [N, O, Ho, Wo]. Keeps no caches
    /// for backward (the caller reruns the layers in turn before a backward).
    public func forwardFoldingBatchNorm(_ x: Tensor, bn: BatchNorm, residual: Tensor?, relu: Bool) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == inChannels && bn.numFeatures == outChannels,
                     "Conv2d(\(inChannels)->\(outChannels)) folding BatchNorm(\(bn.numFeatures)): input shape \(x.shape)")
        let f = foldedWeights(bn)
        let g = ConvGeometry(n: x.shape[0], c: inChannels, h: x.shape[2], w: x.shape[3],
                             o: outChannels, k: kernelSize, stride: stride, padding: padding)
        if Winograd4.applies(g) {
            // the inference kernel (F(4x4, 3x3)) with W' and b', then the residual and ReLU in one pass
            if f.winograd4 == nil {
                f.winograd4 = f.weight.data.withUnsafeBufferPointer { Winograd4.transformWeight($0.baseAddress!, o: g.o, c: g.c) }
            }
            var y = winograd4Conv(x, weight: f.weight, bias: f.bias, g, transformed: f.winograd4)
            if residual != nil || relu { applyEpilogue(&y, residual: residual, relu: relu) }
            return y
        }
        var packed: [Float]? = nil
        if Winograd.applies(g) {
            if f.winograd == nil {
                f.winograd = f.weight.data.withUnsafeBufferPointer { Winograd.transformWeight($0.baseAddress!, o: g.o, c: g.c, flip: false) }
            }
            packed = f.winograd
        } else {
            let layout = ConvTaps(g)
            if !layout.plain {
                if let p = f.packed, p.h == g.h, p.w == g.w { packed = p.data } else {
                    let data = f.weight.data.withUnsafeBufferPointer { layout.pack($0.baseAddress!, g) }
                    f.packed = (g.h, g.w, data)
                    packed = data
                }
            }
        }
        return conv2dForward(x, weight: f.weight, packed: packed, bias: f.bias, residual: residual, relu: relu,
                             stride: stride, padding: padding)
    }

    /// The folded weights for `bn`, rebuilt when a value they come from changed since.
    func foldedWeights(_ bn: BatchNorm) -> FoldedConvBatchNorm {
        let versions = [weight.version, bias?.version ?? -1, bn.weight.version, bn.bias.version,
                        bn.runningMean.version, bn.runningVar.version]
        if let f = folded, f.matches(bn, versions) { return f }
        let f = FoldedConvBatchNorm(conv: self, bn: bn, versions: versions)
        folded = f
        return f
    }
}

/// The epilogue's residual and ReLU over every image of y [N, O, H, W] in place (after a kernel
/// without one). residual [N, O, H, W].
func applyEpilogue(_ y: inout Tensor, residual: Tensor?, relu: Bool) {
    let (n, o, hw) = (y.shape[0], y.shape[1], y.shape[2] * y.shape[3])
    if let residual { precondition(residual.shape == y.shape, "epilogue: residual \(residual.shape), output \(y.shape)") }
    let resData = residual?.data ?? []
    resData.withUnsafeBufferPointer { pr in y.data.withUnsafeMutableBufferPointer { py in
        let e = ConvEpilogue(bias: nil, residual: residual == nil ? nil : pr.baseAddress, relu: relu)
        let yp = py.baseAddress!
        parallelFor(n, minChunk: Swift.max(1, 16384 / Swift.max(1, o * hw))) { r in for i in r { e.apply(yp, image: i, o: o, hw: hw) } }
    } }
}
