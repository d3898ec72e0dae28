import Layers
import Tensors

/// What the convolutional families (ResNet, VGG) share as `MainNetBackbone`s: an image
/// activation [N, C, H, W] flows between units as a plain tensor, and a SideNet reads the
/// flattened feature map. A conv family supplies the tensor-level `forwardUnits`.
public protocol ConvBackbone: MainNetBackbone {
    /// Runs units `range` on x [N, C, H, W] (range starting at 0: the image [N, 3, H, W]).
    func forwardUnits(_ x: Tensor, _ range: Range<Int>, mode: Mode) -> Tensor
}

extension ConvBackbone {
    public func forwardUnits(_ a: MainNetActivation, _ range: Range<Int>, mode: Mode) throws -> MainNetActivation {
        MainNetActivation(forwardUnits(a.tensor, range, mode: mode))
    }

    // a [N, C, h, w] -> [N, C*h*w]
    public func sideInput(_ a: MainNetActivation) -> Tensor {
        a.tensor.reshaped([a.tensor.shape[0], a.tensor.count / a.tensor.shape[0]])
    }

    public func sideInputBackward(_ d: Tensor, shape: [Int]) -> Tensor { d.reshaped(shape) }
}
