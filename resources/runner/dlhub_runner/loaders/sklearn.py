"""scikit-learn estimators, pickled or saved with joblib."""
from .files import library, model_method, model_path


def load(meta, directory):
    """Methods of the estimator in the servable's model file (servable.options.serialization_method)."""
    path = model_path(meta, directory)
    how = ((meta.get("servable") or {}).get("options") or {}).get("serialization_method", "pickle")
    if how == "joblib":
        model = library("joblib", "Scikit-learn").load(path)
    else:
        import pickle  # the servable's own model file, never wire input
        with open(path, "rb") as f:
            model = pickle.load(f)
    return lambda name, details: model_method(model, name, details)
