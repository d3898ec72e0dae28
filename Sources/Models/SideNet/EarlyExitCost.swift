import Layers

// "Effective" multiply-adds: those of a convolution whose kernel tap reads a real input pixel,
// not zero padding. The nominal count (ComputeAccounting.swift, what `expectedFLOPs` and the
// paper's compute proxy use) charges every tap of every output position; on small maps (a 3x3
// kernel on 2x2 or 1x1 maps, ResNet's last stages at 32x32 input) most taps read padding, and
// the convolution kernels skip those. This count is what the kernels can at best do, so the
// speed-up it predicts is the one a measurement can be held to when the nominal one cannot.

/// Taps of a k-wide kernel (stride, padding) along one axis of length `size` that read real input,
/// summed over the output positions.
public func realTaps(size: Int, kernel k: Int, stride s: Int, padding p: Int) -> Int {
    let out = (size + 2 * p - k) / s + 1
    var taps = 0
    for o in 0..<out { let lo = o * s - p; taps += Swift.max(0, Swift.min(size, lo + k) - Swift.max(0, lo)) }
    return taps
}

/// Effective multiply-adds of one convolution on an h x w map, per example.
public func effectiveConvMACs(inChannels c: Int, outChannels o: Int, kernel k: Int, stride s: Int, padding p: Int,
                              h: Int, w: Int) -> Int {
    c * o * realTaps(size: h, kernel: k, stride: s, padding: p) * realTaps(size: w, kernel: k, stride: s, padding: p)
}

extension Conv2d {
    /// Effective multiply-adds of this convolution on an h x w input, and its output size.
    func effectiveMACs(h: Int, w: Int) -> (macs: Int, h: Int, w: Int) {
        let ho = (h + 2 * padding - kernelSize) / stride + 1, wo = (w + 2 * padding - kernelSize) / stride + 1
        return (effectiveConvMACs(inChannels: inChannels, outChannels: outChannels, kernel: kernelSize, stride: stride,
                                  padding: padding, h: h, w: w), ho, wo)
    }
}

extension ResNet {
    /// Effective multiply-adds per unit (stem, then every block) for square inputs of `inputSize`.
    public func effectiveUnitMACs(inputSize: Int) -> [Int] {
        var (h, w) = (inputSize, inputSize)
        let stem = conv1.effectiveMACs(h: h, w: w)
        h = (stem.h + 2 - 3) / 2 + 1; w = (stem.w + 2 - 3) / 2 + 1   // maxpool 3x3/2 p1
        var units = [stem.macs]
        for (_, block) in blocks {
            guard let chain = block as? ConvChainBlock else { preconditionFailure("effectiveUnitMACs: unknown block type") }
            var macs = 0, (bh, bw) = (h, w)
            for conv in chain.convs { let e = conv.effectiveMACs(h: bh, w: bw); macs += e.macs; (bh, bw) = (e.h, e.w) }
            if let ds = chain.downsample { macs += ds.conv.effectiveMACs(h: h, w: w).macs }
            units.append(macs)
            (h, w) = (bh, bw)
        }
        return units
    }
}

extension SideNetModel {
    /// `computeBreakdown` with the backbone's convolutions counted by effective multiply-adds
    /// (taps reading real input only; the SideNet and head are Linear layers, counted as usual),
    /// or nil for a backbone whose effective count is not known (anything but a ResNet).
    public func effectiveComputeBreakdown(inputSize: Int, sideNet i: Int = 0) -> ComputeBreakdown? {
        guard let resnet = backbone as? ResNet else { return nil }
        let units = resnet.effectiveUnitMACs(inputSize: inputSize).map { ComputeCost(macs: $0) }
        let nominal = computeBreakdown(sideNet: i)
        return ComputeBreakdown(prefix: units[0...attachUnits[i]].reduce(.zero, +), sideNet: nominal.sideNet,
                                rest: units[(attachUnits[i] + 1)...].reduce(.zero, +), head: nominal.head)
    }
}
