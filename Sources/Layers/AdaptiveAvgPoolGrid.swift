import Tensors

// PyTorch `nn.AdaptiveAvgPool2d((outH, outW))` for any output size (torchvision VGG's
// `avgpool`, 7x7). Output row i averages input rows [floor(i*H/outH), ceil((i+1)*H/outH));
// columns likewise. Bins may overlap, and when the input is smaller than the output an input
// cell feeds several outputs (a 1x1 map becomes 49 copies at 7x7), exactly as in PyTorch
// (aten/src/ATen/native/AdaptiveAveragePooling.cpp, start_index / end_index).
// `AdaptiveAvgPool2d` is the 1x1 case, kept for ResNet.

/// The input index range of each of `output` adaptive-pooling bins over `input` positions.
public func adaptivePoolBins(input: Int, output: Int) -> [Range<Int>] {
    precondition(input >= 1 && output >= 1, "adaptivePoolBins: sizes \(input) -> \(output)")
    return (0..<output).map { i in (i * input / output)..<(((i + 1) * input + output - 1) / output) }
}

/// Adaptive average pooling to a fixed grid. Shapes: x [N, C, H, W] -> y [N, C, outH, outW].
public final class AdaptiveAvgPoolGrid {
    public let outputHeight: Int, outputWidth: Int
    private var cachedInputShape: [Int] = []

    public init(outputHeight: Int, outputWidth: Int) {
        precondition(outputHeight >= 1 && outputWidth >= 1, "AdaptiveAvgPoolGrid: output \(outputHeight)x\(outputWidth)")
        self.outputHeight = outputHeight; self.outputWidth = outputWidth
    }

    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "AdaptiveAvgPoolGrid: input shape \(x.shape), expected [N, C, H, W]")
        let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outputHeight, outputWidth)
        let rows = adaptivePoolBins(input: h, output: oh), cols = adaptivePoolBins(input: w, output: ow)
        var y = Tensor(uninitializedShape: [x.shape[0], x.shape[1], oh, ow])   // every element written below
        x.data.withUnsafeBufferPointer { px in y.data.withUnsafeMutableBufferPointer { py in
            let xb = px.baseAddress!, yb = py.baseAddress!
            parallelFor(planes, minChunk: 16) { r in
                for plane in r {
                    let src = xb + plane * h * w, dst = yb + plane * oh * ow
                    for (i, rb) in rows.enumerated() {
                        for (j, cb) in cols.enumerated() {
                            var s: Float = 0
                            for a in rb { for b in cb { s += src[a * w + b] } }
                            dst[i * ow + j] = s / Float(rb.count * cb.count)
                        }
                    }
                }
            }
        } }
        cachedInputShape = x.shape
        return y
    }

    /// dx[n,c,a,b] = sum over the bins (i, j) containing (a, b) of dOut[n,c,i,j] / |bin(i, j)|.
    public func backward(_ dOut: Tensor) -> Tensor {
        precondition(!cachedInputShape.isEmpty, "AdaptiveAvgPoolGrid.backward called before forward")
        let s = cachedInputShape, (h, w) = (s[2], s[3]), (oh, ow) = (outputHeight, outputWidth)
        precondition(dOut.shape == [s[0], s[1], oh, ow], "AdaptiveAvgPoolGrid.backward: dOut \(dOut.shape), expected \([s[0], s[1], oh, ow])")
        let rows = adaptivePoolBins(input: h, output: oh), cols = adaptivePoolBins(input: w, output: ow)
        var dx = Tensor(zeros: s)
        dOut.data.withUnsafeBufferPointer { pd in dx.data.withUnsafeMutableBufferPointer { px in
            let db = pd.baseAddress!, xb = px.baseAddress!
            parallelFor(s[0] * s[1], minChunk: 16) { r in
                for plane in r {
                    let src = db + plane * oh * ow, dst = xb + plane * h * w
                    for (i, rb) in rows.enumerated() {
                        for (j, cb) in cols.enumerated() {
                            let g = src[i * ow + j] / Float(rb.count * cb.count)
                            for a in rb { for b in cb { dst[a * w + b] += g } }
                        }
                    }
                }
            }
        } }
        return dx
    }
}

/// Plain reference of `AdaptiveAvgPoolGrid.forward`: PyTorch's bin formula written out per
/// output element, summed in Double. x [N, C, H, W] -> [N, C, outH, outW].
public func adaptiveAvgPool2dReference(_ x: Tensor, outputHeight oh: Int, outputWidth ow: Int) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    var y = Tensor(zeros: [n, c, oh, ow])
    for p in 0..<(n * c) {
        for i in 0..<oh {
            let r0 = Int((Double(i * h) / Double(oh)).rounded(.down)), r1 = Int((Double((i + 1) * h) / Double(oh)).rounded(.up))
            for j in 0..<ow {
                let c0 = Int((Double(j * w) / Double(ow)).rounded(.down)), c1 = Int((Double((j + 1) * w) / Double(ow)).rounded(.up))
                var s = 0.0
                for a in r0..<r1 { for b in c0..<c1 { s += Double(x.data[(p * h + a) * w + b]) } }
                y.data[(p * oh + i) * ow + j] = Float(s / Double((r1 - r0) * (c1 - c0)))
            }
        }
    }
    return y
}

/// Plain reference of `AdaptiveAvgPoolGrid.backward` for an input of shape `inputShape`.
public func adaptiveAvgPool2dBackwardReference(_ dOut: Tensor, inputShape: [Int]) -> Tensor {
    let (h, w, oh, ow) = (inputShape[2], inputShape[3], dOut.shape[2], dOut.shape[3])
    var dx = Tensor(zeros: inputShape)
    for p in 0..<(inputShape[0] * inputShape[1]) {
        for i in 0..<oh {
            let r0 = Int((Double(i * h) / Double(oh)).rounded(.down)), r1 = Int((Double((i + 1) * h) / Double(oh)).rounded(.up))
            for j in 0..<ow {
                let c0 = Int((Double(j * w) / Double(ow)).rounded(.down)), c1 = Int((Double((j + 1) * w) / Double(ow)).rounded(.up))
                let g = dOut.data[(p * oh + i) * ow + j] / Float((r1 - r0) * (c1 - c0))
                for a in r0..<r1 { for b in c0..<c1 { dx.data[(p * h + a) * w + b] += g } }
            }
        }
    }
    return dx
}
