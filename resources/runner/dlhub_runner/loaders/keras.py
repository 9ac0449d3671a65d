"""Keras models saved with model.save()."""
from .files import library, model_method, model_path


def load(meta, directory):
    """Methods (usually predict) of the Keras model in the servable's model file."""
    model = library("tensorflow.keras.models", "Keras").load_model(model_path(meta, directory))
    return lambda name, details: model_method(model, name, details)
