"""Plain Python servables: a module's function per method, or methods of a pickled object."""
import importlib

from .files import model_method, model_path


def load_static(meta, directory):
    """Each method is a function of a module in the servable folder (method_details.module, .method_name)."""
    def method(name, details):
        return getattr(importlib.import_module(details["module"]), details["method_name"])
    return method


def load_class_method(meta, directory):
    """Methods of the object pickled in the servable's "pickle" file."""
    import pickle  # the servable's own pickled object, never wire input
    with open(model_path(meta, directory, "pickle"), "rb") as f:
        obj = pickle.load(f)
    return lambda name, details: model_method(obj, name, details)
