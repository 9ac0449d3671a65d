"""One loader per framework, named by the servable's shim (servable.shim in dlhub.json).

A loader is `load(meta, directory)`: it loads the model once and returns `method(name, details)`,
which gives the callable for one declared method. `array_input` says the framework takes numpy
arrays: inputs are coerced to arrays and a batch is joined into one call by rows. A new framework
is one module here and one row in LOADERS (and its shim in main/servable, which build checks).
"""
import collections
import sys

from ..errors import RunnerError
from ..methods import Method
from . import keras, onnx, python, sklearn, tensorflow, torch

Loader = collections.namedtuple("Loader", "load array_input")

LOADERS = {
    "python.PythonStaticMethodServable": Loader(python.load_static, False),
    "python.PythonClassMethodServable": Loader(python.load_class_method, False),
    "sklearn.ScikitLearnServable": Loader(sklearn.load, True),
    "keras.KerasServable": Loader(keras.load, True),
    "torch.TorchServable": Loader(torch.load, True),
    "onnx.ONNXServable": Loader(onnx.load, True),
    "tensorflow.TensorFlowServable": Loader(tensorflow.load, False),
}


class Methods(dict):
    """{method name: Method}, plus `framework`: what the loader reports for hello ({name, version, device}) or None."""
    framework = None


def load_methods(meta, directory):
    """Load the servable's model eagerly and return {method name: Method}."""
    servable = meta.get("servable") or {}
    shim = servable.get("shim")
    loader = LOADERS.get(shim)
    if loader is None:
        raise RunnerError("load", "servable.shim %r is not supported; use one of %s" % (shim, ", ".join(LOADERS)), "ValueError")
    if directory not in sys.path:
        sys.path.insert(0, directory)
    method = loader.load(meta, directory)
    methods = Methods()
    methods.framework = getattr(method, "framework", None)
    for name, m in (servable.get("methods") or {}).items():
        details = m.get("method_details") or {}
        input_type = (m.get("input") or {}).get("type")
        methods[name] = Method(name, method(name, details), input_type, loader.array_input, bool(details.get("autobatch")))
    return methods
