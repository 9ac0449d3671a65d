"""Probe used by `dlhub init` on a PyTorch file: torch's version, what the file holds, and the
input and output shapes where the module tells them (its first and last layers, checked by one
forward pass of zeros). Prints one JSON object on stdout.

  inspect_torch.py FILE     (run with a Python that has torch; the file's folder is put on sys.path)
"""
import json
import os
import sys
import zipfile

# Square image sizes tried for a module whose first layer is a convolution (it does not record them).
IMAGE_SIZES = (28, 32, 64, 96, 128, 224, 256, 299, 512)


def is_torchscript(path):
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def leaves(model):
    return [m for m in model.modules() if not list(m.children())]


def dtype_name(torch, model):
    for p in model.parameters():
        if p.is_floating_point():
            return str(p.dtype).replace("torch.", "")
    return "float32"


def try_forward(torch, model, shape, dtype):
    try:
        with torch.no_grad():
            out = model(torch.zeros(shape, dtype=getattr(torch, dtype)))
    except Exception:
        return None
    return list(out.shape) if isinstance(out, torch.Tensor) else None


def shapes(torch, model, dtype):
    """(input shape, output shape, how) with None for an axis the module does not fix."""
    layers = leaves(model)
    first = layers[0] if layers else None
    last = next((m for m in reversed(layers) if hasattr(m, "out_features")), None)
    out_guess = [None, last.out_features] if last is not None else None
    if first is None:
        return None, out_guess, None
    kind = getattr(first, "original_name", None) or type(first).__name__  # TorchScript keeps the layer's class name there
    candidates = []
    if hasattr(first, "in_features"):
        candidates = [[first.in_features]]
    elif kind in ("Conv2d", "ConvTranspose2d"):
        candidates = [[first.in_channels, s, s] for s in IMAGE_SIZES]
    elif kind in ("Conv1d", "ConvTranspose1d"):
        candidates = [[first.in_channels, s] for s in IMAGE_SIZES]
    elif kind == "Embedding":
        return [None, None], out_guess, "first layer Embedding (integer indices)"
    for tail in candidates:
        out = try_forward(torch, model, [1] + tail, dtype)
        if out is not None:
            return [None] + tail, [None] + out[1:], "first layer %s, checked by a forward pass" % kind
    if hasattr(first, "in_features"):
        return [None, first.in_features], out_guess, "first layer %s" % kind
    if hasattr(first, "in_channels"):
        return [None, first.in_channels] + [None] * (1 if "1d" in kind else 2), out_guess, "first layer %s" % kind
    return None, out_guess, None


def main(path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    import torch
    answer = {"torch_version": torch.__version__.split("+")[0]}
    try:
        if is_torchscript(path):
            model, answer["kind"] = torch.jit.load(path, map_location="cpu"), "torchscript"
        else:
            try:
                model = torch.load(path, map_location="cpu", weights_only=False)
            except TypeError:
                model = torch.load(path, map_location="cpu")
            if isinstance(model, dict):
                answer["kind"] = "state_dict"
                answer["tensors"] = len(model)
                print(json.dumps(answer))
                return 0
            answer["kind"] = "module"
        answer["class"] = "%s.%s" % (type(model).__module__, type(model).__name__)
        model.eval()
        dtype = dtype_name(torch, model)
        answer["dtype"] = dtype
        answer["input_shape"], answer["output_shape"], answer["how"] = shapes(torch, model, dtype)
    except Exception as e:  # init still writes dlhub.json: the shapes are then left for a person
        answer["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
