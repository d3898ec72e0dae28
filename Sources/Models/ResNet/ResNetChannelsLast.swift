import Layers
import Tensors

// ResNet's eval-mode blocks on small maps in the channels-last layout (ConvChannelsLast.swift):
// from the first block whose output map has at most `ConvTuning.channelsLastMaxPositions`
// positions (layer2-4 of a Bottleneck ResNet at 32x32 input: 4x4, 2x2 and 1x1 maps; layer3-4 of a
// BasicBlock one, `channelsLastMaxPositions3x3Blocks`), the activations are converted
// to [N, H, W, C] once, every later block runs its convolutions as plain GEMMs over the batch,
// and the result is converted back to [N, C, H, W] at the end of the range. The reference is
// the NCHW blocks (`ConvChainBlock.forward`); ResNetChannelsLastTests holds them equal.

extension ConvChainBlock {
    /// Output map size for an input map h x w.
    func outputSize(h: Int, w: Int) -> (h: Int, w: Int) {
        convs.reduce((h: h, w: w)) { s, c in
            ((s.h + 2 * c.padding - c.kernelSize) / c.stride + 1, (s.w + 2 * c.padding - c.kernelSize) / c.stride + 1)
        }
    }

    /// Whether the eval forward of this block on h x w maps runs channels-last.
    func runsChannelsLast(h: Int, w: Int) -> Bool {
        var limit = ConvTuning.channelsLastMaxPositions
        if convs.allSatisfy({ $0.kernelSize == 3 }) { limit = Swift.min(limit, ConvTuning.channelsLastMaxPositions3x3Blocks) }
        guard ConvTuning.foldBatchNorm && limit > 0 else { return false }
        let out = outputSize(h: h, w: w)
        return out.h * out.w <= limit
    }

    /// Eval forward with every BatchNorm folded, channels-last: x [N, H, W, C] -> [N, Ho, Wo, Cout].
    /// Keeps x for a later backward (which first reruns the layers in NCHW).
    public func forwardChannelsLast(_ x: Tensor) -> Tensor {
        foldedInput = x
        foldedChannelsLast = true
        let last = convs.count - 1
        var out = x
        for k in 0..<last { out = convs[k].forwardFoldingBatchNormChannelsLast(out, bn: norms[k], residual: nil, relu: true) }
        let identity = downsample.map { $0.conv.forwardFoldingBatchNormChannelsLast(x, bn: $0.bn, residual: nil, relu: false) } ?? x
        return convs[last].forwardFoldingBatchNormChannelsLast(out, bn: norms[last], residual: identity, relu: true)
    }
}

extension ResNet {
    /// Eval-mode blocks `range` (unit indices >= 1) on x [N, C, H, W]: NCHW until the first block
    /// that `runsChannelsLast`, channels-last from there; returns [N, C', H', W'].
    func forwardBlocksEval(_ x: Tensor, _ range: Range<Int>) -> Tensor {
        var a = x, last = false
        for u in range {
            let block = blocks[u - 1].block
            if !last, let b = block as? ConvChainBlock, b.runsChannelsLast(h: a.shape[2], w: a.shape[3]) {
                a = channelsLast(a)
                last = true
            }
            if last, let b = block as? ConvChainBlock {
                a = b.forwardChannelsLast(a)
            } else {
                if last { a = channelsFirst(a); last = false }
                a = block.forward(a, mode: .eval)
            }
        }
        return last ? channelsFirst(a) : a
    }
}
