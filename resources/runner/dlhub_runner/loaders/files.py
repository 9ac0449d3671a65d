"""What every loader shares: where the servable's model file is, and importing a framework's library."""
import importlib
import os

from ..errors import RunnerError


def servable_file(meta, role):
    """Where a servable names its `role` file ("model", "pickle"): dlhub.files (as DLHub's SDK writes
    it) or servable.files (older documents); the same rule as main/servable/servable-files.ts."""
    for block in ("dlhub", "servable"):
        rel = ((meta.get(block) or {}).get("files") or {}).get(role)
        if isinstance(rel, str) and rel:
            return rel
    return None


def model_path(meta, directory, role="model"):
    """The absolute path of the servable's `role` file, which must be a regular file inside its folder."""
    rel = servable_file(meta, role)
    if not rel:
        raise RunnerError("load", "dlhub.json names no %s file at dlhub.files.%s (or servable.files.%s)" % (role, role, role), "KeyError")
    parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or os.path.isabs(rel):
        raise RunnerError("load", "%s file %r must be a path inside the servable folder" % (role, rel), "ValueError")
    for candidate in (os.path.join(directory, *parts), os.path.join(directory, parts[-1])):
        if os.path.isfile(candidate) and not os.path.islink(candidate):
            return candidate
    raise RunnerError("load", "%s file %s is not in the servable folder %s" % (role, rel, directory), "FileNotFoundError")


def library(name, framework):
    """Import a framework's library, or fail the load saying how to get it into the image."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise RunnerError("load", "a %s servable needs the Python library '%s', which is not installed (%s); it must be in the image "
                          "(declare it in dlhub.json dependencies and rebuild)" % (framework, name.split(".")[0], e), "ModuleNotFoundError")


def model_method(model, name, details):
    """The model's method a servable method names (method_details.method_name, else the method's own name)."""
    wanted = details.get("method_name") or name
    # DLHub's SDK wrote scikit-learn's private "_predict_proba"; newer releases only have the public name.
    fn = getattr(model, wanted, None) or getattr(model, wanted.lstrip("_"), None)
    if fn is None:
        raise RunnerError("load", "the model (%s) has no method %r" % (type(model).__name__, wanted), "AttributeError")
    return fn
