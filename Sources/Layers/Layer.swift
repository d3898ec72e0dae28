import Tensors

// Conventions every layer in this module follows (llm.c style, see ../shared/style.md):
// - one layer, one file; `forward` and `backward` side by side; a shape comment at the top;
// - `forward` caches what `backward` needs in the layer instance (one pending forward per
//   instance; a layer used twice in one graph is two instances);
// - `backward(dOut)` returns the gradient with respect to the input and *adds* parameter
//   gradients into `Parameter.grad` (skipped when the parameter is frozen);
// - parameter and buffer names are PyTorch's (`weight`, `bias`, `running_mean`, ...);
// - layers whose behaviour differs between training and evaluation take `training:`.

/// Whether a layer computes in training mode (batch statistics, dropout) or evaluation mode.
public enum Mode: Sendable {
    case train
    case eval
}
