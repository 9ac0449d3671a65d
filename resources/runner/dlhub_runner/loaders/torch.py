"""PyTorch models: a whole module saved with torch.save(model), a TorchScript file (torch.jit.save),
or a state_dict whose module class is in a Python file of the servable (servable.options.model_class).

The model is loaded onto the device this machine has (map_location), so a model saved on a GPU
loads on the CPU; inputs become tensors of the model's dtype and declared shape on its device.
"""
import importlib
import traceback
import zipfile

from ..errors import RunnerError
from .files import library, model_path, servable_file
from .torch_device import INTEGER_TYPES, choose_device, declared_input, fit_shape

STATE_DICT_HELP = (
    "Provide the module class: put the class in a Python file in the servable folder, list that file in "
    "dlhub.files.other, and set servable.options.model_class to \"<module>.<Class>\" (e.g. \"net.Net\"; "
    "servable.options.model_kwargs holds its constructor arguments). Or save the whole module "
    "(torch.save(model, path)) or a TorchScript file (torch.jit.save(torch.jit.script(model), path)).")


def _is_torchscript(path):
    # TorchScript archives hold code/ and constants.pkl; torch.save's zip files hold data.pkl only.
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in names)


def _torch_load(torch, path, device):
    try:
        return torch.load(path, map_location=device, weights_only=False)
    except TypeError:  # torch older than 1.13 has no weights_only
        return torch.load(path, map_location=device)


def _state_dict_of(obj):
    """The state_dict in `obj` (a bare one, or a checkpoint dict holding one), else None."""
    if not isinstance(obj, dict):
        return None
    for key in ("state_dict", "model_state_dict", "model"):
        inner = obj.get(key)
        if isinstance(inner, dict) and inner and all(hasattr(v, "shape") for v in inner.values()):
            return inner
    if obj and all(hasattr(v, "shape") for v in obj.values()):
        return obj
    return None


def _module_from_class(torch, meta, directory, state, rel):
    options = (meta.get("servable") or {}).get("options") or {}
    name = options.get("model_class")
    if not isinstance(name, str) or "." not in name:
        raise RunnerError("load", "%s holds a state_dict (weights only, %d tensors), not a model. %s" % (rel, len(state), STATE_DICT_HELP), "TypeError")
    module_name, _, class_name = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as e:
        raise RunnerError("load", "servable.options.model_class %r cannot be imported from the servable folder %s: %s. %s"
                          % (name, directory, e, STATE_DICT_HELP), type(e).__name__, traceback.format_exc())
    kwargs = options.get("model_kwargs") or {}
    model = cls(**kwargs)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise RunnerError("load", "the state_dict in %s does not fit %s: %s" % (rel, name, e), "RuntimeError", traceback.format_exc())
    return model


def load_model(torch, meta, directory, device):
    """The model in the servable's model file, on `device`, in eval mode."""
    path = model_path(meta, directory)
    rel = servable_file(meta, "model") or path
    if _is_torchscript(path):
        model = torch.jit.load(path, map_location=device)
    else:
        try:
            model = _torch_load(torch, path, device)
        except (AttributeError, ModuleNotFoundError) as e:
            # A whole module pickles its class by module and name; the class must be importable here.
            raise RunnerError("load", "%s is a whole PyTorch module whose class cannot be found: %s. Put the Python file that "
                              "defines the class in the servable folder (dlhub.files.other) under the module name it was saved "
                              "from, or save a TorchScript file instead (torch.jit.save)." % (rel, e), type(e).__name__, traceback.format_exc())
        state = _state_dict_of(model)
        if state is not None:
            model = _module_from_class(torch, meta, directory, state, rel)
        elif not callable(model):
            raise RunnerError("load", "%s holds a %s, not a PyTorch module. %s" % (rel, type(model).__name__, STATE_DICT_HELP), "TypeError")
    if hasattr(model, "to"):
        model = model.to(device)
    if hasattr(model, "eval"):
        model.eval()
    return model


def model_dtype(torch, model):
    """The dtype of the model's first floating parameter (or buffer); float32 when it has none."""
    for source in ("parameters", "buffers"):
        for p in (getattr(model, source, lambda: [])() or []):
            if p.is_floating_point():
                return p.dtype
    return torch.float32


def _to_numpy(torch, value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        return type(value)(_to_numpy(torch, v) for v in value)
    if isinstance(value, dict):
        return {k: _to_numpy(torch, v) for k, v in value.items()}
    return value


def load(meta, directory):
    """Every method calls the module (or its method_details.method_name) without gradients, on its
    input as a tensor of the model's dtype (method_details.dtype overrides it) and declared shape,
    on the model's device; tensors come back as numpy arrays."""
    torch = library("torch", "PyTorch")
    device, note = choose_device(meta, torch.cuda.is_available())
    model = load_model(torch, meta, directory, device)
    dtype = model_dtype(torch, model)

    def method(name, details):
        wanted = details.get("method_name") or "__call__"
        fn = model if wanted in ("__call__", "forward") else getattr(model, wanted, None)
        if fn is None:
            raise RunnerError("load", "the model (%s) has no method %r" % (type(model).__name__, wanted), "AttributeError")
        declared = declared_input(meta, name)
        item = (declared.get("item_type") or {}).get("type")
        if details.get("dtype"):
            try:
                target = getattr(torch, str(details["dtype"]))
            except AttributeError:
                raise RunnerError("load", "method_details.dtype %r of method %s is not a torch dtype" % (details["dtype"], name), "ValueError")
        else:
            target = torch.int64 if item in INTEGER_TYPES else dtype

        def call(x, **params):
            if not isinstance(x, torch.Tensor):
                if hasattr(x, "shape"):
                    x = fit_shape(x, declared.get("shape"))
                    if not x.flags.writeable:  # decoded straight from the frame: a model may write into its input
                        x = x.copy()
                x = torch.as_tensor(x)
            # JSON numbers arrive as float64 (or int64): the model's own dtype is what its layers accept.
            x = x.to(device=device, dtype=target)
            with torch.no_grad():
                return _to_numpy(torch, fn(x, **params))
        return call

    version = getattr(torch, "__version__", "")
    method.framework = {"name": "torch", "version": str(version).split("+")[0], "device": device}
    if note:
        method.framework["note"] = note
    return method
