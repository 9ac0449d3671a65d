"""One callable method of a servable: how its input is coerced, how it is called, how it is batched."""
import time
import traceback

from .errors import RunnerError
from .values import numpy

# Declared input types whose methods take plain Python values: arrays in their input arrive as lists
# and numbers (values.to_plain), which is how NaN and Infinity reach a method that takes a list.
PLAIN_TYPES = frozenset(("list", "tuple", "float", "number"))


class Method(object):
    """One callable method of the servable: how to coerce its input, call it, and batch it."""

    def __init__(self, name, fn, input_type, array_batch, autobatch):
        self.name, self.fn, self.array_batch, self.autobatch = name, fn, array_batch, autobatch
        self.np = numpy() if input_type == "ndarray" or array_batch else None
        self.plain = input_type in PLAIN_TYPES and not array_batch
        # Seconds spent inside the model's own function since the request began (the run reply's inference_ms):
        # decoding, coercion, joining/splitting batches and encoding the output are left out.
        self.inference_s = 0.0

    def _invoke(self, value, params):
        start = time.perf_counter()
        try:
            return invoke(self.fn, value, params)
        finally:
            self.inference_s += time.perf_counter() - start

    def coerce(self, value):
        if self.np is None or isinstance(value, self.np.ndarray):
            return value
        try:
            return self.np.asarray(value)
        except Exception as e:
            raise RunnerError("input", "input of method %s cannot be made into an array: %s" % (self.name, e), type(e).__name__)

    def call(self, value, params):
        value = self.coerce(value)
        if self.autobatch:  # DLHub semantics: the input is a list, the function takes one item
            return [self._invoke(v, params) for v in value]
        return self._invoke(value, params)

    def call_batch(self, values, params):
        if self.array_batch and self.np is not None:
            joined = self._join([self.coerce(v) for v in values])
            if joined is not None:
                arrays, counts = joined
                split = _split(self.np, self._invoke(arrays, params), counts)
                if split is not None:
                    return split
        return [self.call(v, params) for v in values]

    def _join(self, arrays):
        tail = arrays[0].shape[1:] if arrays[0].ndim else None
        if tail is None or any(a.ndim == 0 or a.shape[1:] != tail for a in arrays):
            return None
        return self.np.concatenate(arrays, axis=0), [len(a) for a in arrays]


def invoke(fn, value, params):
    """Call the model; its exceptions become model errors with their type and traceback."""
    try:
        return fn(value, **params) if params else fn(value)
    except RunnerError:
        raise
    except Exception as e:
        raise RunnerError("model", str(e), type(e).__name__, traceback.format_exc())


def _split(np, output, counts):
    total, bounds, start = sum(counts), [], 0
    for n in counts:
        bounds.append((start, start + n))
        start += n
    if isinstance(output, (np.ndarray, list, tuple)) and len(output) == total:
        return [output[a:b] for a, b in bounds]
    return None  # the output is not one row per input row: the caller falls back to one call per input
