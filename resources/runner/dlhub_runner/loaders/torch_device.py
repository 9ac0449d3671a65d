"""Where a model runs and what its inputs must look like: device, dtype and declared shape.

Shared by the framework loaders (torch, onnx). Nothing here imports a framework at module load.
"""
import os
import sys

from ..errors import RunnerError


def resources(meta):
    """The servable's declared resources (dlhub.resources), or {}."""
    declared = (meta.get("dlhub") or {}).get("resources")
    return declared if isinstance(declared, dict) else {}


def choose_device(meta, gpu_available):
    """("cuda" | "cpu", note or None). DLHUB_DEVICE forces one; a GPU servable on a machine without a GPU
    runs on the CPU only when it allows that (resources.cpu_fallback), and the note says so."""
    forced = os.environ.get("DLHUB_DEVICE")
    if forced in ("cpu", "cuda"):
        if forced == "cuda" and not gpu_available:
            raise RunnerError("load", "DLHUB_DEVICE=cuda but this machine (or container) has no usable GPU", "RuntimeError")
        return forced, None
    wanted = resources(meta)
    if gpu_available:
        return "cuda", None
    if wanted.get("gpu") is True:
        if wanted.get("cpu_fallback") is True:
            note = "the servable asks for a GPU and none is usable here: running on the CPU (resources.cpu_fallback allows it)"
            sys.stderr.write("dlhub_runner: %s\n" % note)
            return "cpu", note
        raise RunnerError("load", "the servable needs a GPU (dlhub.resources.gpu) and none is usable here; "
                          "run it on a machine with an NVIDIA GPU, or set dlhub.resources.cpu_fallback to true to allow the CPU",
                          "RuntimeError")
    return "cpu", None


def declared_input(meta, name):
    """The declared input of method `name` (servable.methods.<name>.input), or {}."""
    method = ((meta.get("servable") or {}).get("methods") or {}).get(name) or {}
    declared = method.get("input")
    return declared if isinstance(declared, dict) else {}


def fit_shape(array, shape):
    """Reshape `array` to the declared shape when it holds the same values laid out differently: a flat
    row of 784 or a 28x28 image for [null, 1, 28, 28], one item without its batch axis. Anything else is
    left alone, so the model's own error names the mismatch."""
    if not isinstance(shape, list) or not shape or shape[0] is not None:
        return array
    tail = shape[1:]
    if not tail or any(not isinstance(d, int) or isinstance(d, bool) or d <= 0 for d in tail):
        return array
    if list(array.shape[1:]) == tail and array.ndim == len(shape):
        return array
    per_item = 1
    for d in tail:
        per_item *= d
    if array.size == 0 or array.size % per_item != 0:
        return array
    if array.ndim == len(tail) and list(array.shape) == tail:
        return array.reshape([1] + tail)  # one item, batch axis left out
    rows = array.shape[0] if array.ndim >= 1 else 1
    if array.ndim >= 2 and rows * per_item == array.size:
        return array.reshape([rows] + tail)
    return array


INTEGER_TYPES = ("integer", "int")
