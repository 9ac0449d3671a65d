"""ONNX models, run with onnxruntime."""
from .files import library, model_path


def load(meta, directory):
    """Every method feeds its input to the model's first input; one output comes back alone, several as a list."""
    session = library("onnxruntime", "ONNX").InferenceSession(model_path(meta, directory))
    first = session.get_inputs()[0].name

    def call(x, **_params):
        outputs = session.run(None, {first: x})
        return outputs[0] if len(outputs) == 1 else outputs
    return lambda name, details: call
