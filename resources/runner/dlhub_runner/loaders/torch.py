"""PyTorch modules saved whole with torch.save()."""
from .files import library, model_path


def load(meta, directory):
    """Every method calls the module in eval mode, without gradients, on its input as a tensor."""
    torch = library("torch", "PyTorch")
    path = model_path(meta, directory)
    try:
        model = torch.load(path, weights_only=False)
    except TypeError:  # torch older than 1.13 has no weights_only
        model = torch.load(path)
    model.eval()

    def call(x, **params):
        with torch.no_grad():
            return model(torch.as_tensor(x), **params)
    return lambda name, details: call
