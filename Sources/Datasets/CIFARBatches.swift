import Tensors

/// What happens to bytes on their way into a model: /255 to [0,1] (torchvision `ToTensor`),
/// optional bilinear resize (e.g. 32 -> 224 for ImageNet-pretrained ResNets), then per-channel
/// normalisation.
public struct ImagePreprocessing: Sendable, Equatable {
    /// Output side length (square) or nil to keep 32×32.
    public var resizeTo: Int?
    public var normalization: ImageNormalization

    public init(resizeTo: Int? = nil, normalization: ImageNormalization = .imagenet) {
        self.resizeTo = resizeTo
        self.normalization = normalization
    }
}

/// A model-ready batch: images [B,3,H,W] and labels [B].
public struct ImageBatch {
    public var images: Tensor
    public var labels: [Int]
    /// Positions in the source set, so predictions can be stored per example.
    public var indices: [Int]
}

extension CIFARImages {
    /// Images at `indices` as Float32 [B,3,32,32] in [0,1] (byte / 255, like `ToTensor`).
    public func floatImages(_ indices: [Int]) -> Tensor {
        let ppi = CIFARImages.pixelsPerImage
        var out = [Float](repeating: 0, count: indices.count * ppi)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (r, i) in indices.enumerated() {
                    precondition(i >= 0 && i < count, "image index \(i) out of range 0..<\(count)")
                    let s = src.baseAddress! + i * ppi, d = dst.baseAddress! + r * ppi
                    for k in 0..<ppi { d[k] = Float(s[k]) / 255 }
                }
            }
        }
        return Tensor(shape: [indices.count, 3, 32, 32], data: out)
    }

    /// The preprocessed batch of images at `indices`.
    public func batch(_ indices: [Int], preprocessing: ImagePreprocessing) -> ImageBatch {
        var x = floatImages(indices)
        if let side = preprocessing.resizeTo, side != 32 {
            x = BilinearResize.resize(x, height: side, width: side)
        }
        preprocessing.normalization.apply(&x)
        return ImageBatch(images: x, labels: indices.map { label($0) }, indices: indices)
    }
}

/// Which images train, validate and test: `train` and `validation` index `CIFAR10.train`
/// (validation is held out from the training files), `test` indexes `CIFAR10.test`.
public struct CIFARSplits: Sendable, Equatable {
    public var train: [Int]
    public var validation: [Int]
    public var test: [Int]

    /// Holds out `validationCount` training images at random with `seed` (the run's seed).
    public init(trainCount: Int, testCount: Int, validationCount: Int, seed: UInt64) throws {
        guard validationCount >= 0 && validationCount < trainCount else {
            throw CIFARError.invalidArgument(name: "validation size", value: "\(validationCount)",
                                             expected: "0..<\(trainCount) (training images available)")
        }
        let s = Batching.holdOut(count: trainCount, validationCount: validationCount, seed: seed)
        train = s.train
        validation = s.validation
        test = Array(0..<testCount)
    }
}

extension CIFAR10 {
    /// Train/validation/test index lists for this data set (see `CIFARSplits`).
    public func splits(validationCount: Int, seed: UInt64) throws -> CIFARSplits {
        try CIFARSplits(trainCount: train.count, testCount: test.count,
                        validationCount: validationCount, seed: seed)
    }
}
