"""TensorFlow SavedModels, called through their serving_default signature."""
from .files import library, model_path, servable_file


def load(meta, directory):
    """Every method calls the signature; the model is the named file or folder, else the servable folder itself."""
    tf = library("tensorflow", "TensorFlow")
    model = tf.saved_model.load(model_path(meta, directory) if servable_file(meta, "model") else directory)
    signature = model.signatures["serving_default"]
    return lambda name, details: signature
