"""ONNX models, run with onnxruntime (where the image has it: Debian packages onnx, not onnxruntime)."""
import importlib

from ..errors import RunnerError
from .files import model_path
from .torch_device import choose_device, declared_input, fit_shape

NO_RUNTIME = ("an ONNX servable runs with the Python library 'onnxruntime', which is not installed (%s). Debian has no "
              "onnxruntime package (its python3-onnx reads and checks models but cannot run them), so the Debian-built base "
              "cannot provide it: build on an image that has onnxruntime (--base-image / DLHUB_BASE_IMAGE), or, where the "
              "network allows, set DLHUB_PIP=1 and declare onnxruntime in dlhub.json dependencies")

# ONNX tensor element types -> numpy dtype names.
ONNX_TYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}


def load(meta, directory):
    """Every method feeds its input, as the model's first input's dtype and declared shape, to that
    input; one output comes back alone, several as a list."""
    try:
        ort = importlib.import_module("onnxruntime")
    except ImportError as e:
        raise RunnerError("load", NO_RUNTIME % e, "ModuleNotFoundError")
    available = ort.get_available_providers()
    device, note = choose_device(meta, "CUDAExecutionProvider" in available)
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
    session = ort.InferenceSession(model_path(meta, directory), providers=[p for p in providers if p in available])
    first = session.get_inputs()[0]
    dtype = ONNX_TYPES.get(first.type, "float32")

    def method(name, details):
        declared = declared_input(meta, name)
        target = str(details.get("dtype") or dtype)

        def call(x, **_params):
            if hasattr(x, "astype"):
                x = fit_shape(x, declared.get("shape")).astype(target, copy=False)
            outputs = session.run(None, {first.name: x})
            return outputs[0] if len(outputs) == 1 else outputs
        return call

    method.framework = {"name": "onnxruntime", "version": getattr(ort, "__version__", ""), "device": device}
    if note:
        method.framework["note"] = note
    return method
