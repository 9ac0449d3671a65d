"""Values on the wire: JSON, with binary parts in the frame's raw buffers.

  {"$ndarray": {"dtype", "shape", "buffer"}}  a numpy array, C order, little endian
  {"$bytes": {"buffer"}}                      raw bytes

An object whose only key is $ndarray or $bytes is reserved for these references, in both directions.
JSON has no NaN or Infinity: a non-finite float of a model's output travels as a 0-d float64
$ndarray (shape []), which the host hands on unchanged; an integer too large for a float64 (JSON
readers would make it Infinity) fails the call as a model error.
"""
import importlib
import struct
import sys

from .errors import RunnerError

# numpy dtype name -> struct format, used to decode arrays when numpy is not installed.
FORMATS = {
    "bool": "?", "int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i",
    "uint32": "I", "int64": "q", "uint64": "Q", "float16": "e", "float32": "f", "float64": "d",
}
RESERVED_KEYS = ("$ndarray", "$bytes")
_FLOAT64 = struct.Struct("<d")
# Integers below this pass without a look; at or above it, float() says whether a float64 holds them.
_SAFE_INT = 2 ** 1023
_NEG_SAFE_INT = -_SAFE_INT


def numpy():
    """numpy if it can be imported, else None (imported once, on first need)."""
    np = sys.modules.get("numpy")
    if np is not None:
        return np
    try:
        return importlib.import_module("numpy")
    except ImportError:
        return None


# ---------------------------------------------------------------- from the wire


def decode_value(value, buffers):
    """Turn wire JSON plus raw buffers into Python values; $ndarray -> numpy (or nested lists)."""
    if not buffers:
        return value  # no buffers: nothing can reference one, so skip the walk
    return _decode(value, buffers)


def _decode(value, buffers):
    if isinstance(value, list):
        return [_decode(v, buffers) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            if "$ndarray" in value:
                return _decode_ndarray(value["$ndarray"], buffers)
            if "$bytes" in value:
                return bytes(_buffer(buffers, value["$bytes"]))
        return {k: _decode(v, buffers) for k, v in value.items()}
    return value


def _buffer(buffers, ref):
    index = ref.get("buffer") if isinstance(ref, dict) else None
    if not isinstance(index, int) or not 0 <= index < len(buffers):
        raise RunnerError("input", "buffer reference %r does not name one of the %d buffers of the frame" % (index, len(buffers)), "ValueError")
    return buffers[index]


def _decode_ndarray(spec, buffers):
    buf = _buffer(buffers, spec)
    dtype, shape = spec.get("dtype"), spec.get("shape")
    if dtype not in FORMATS or not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise RunnerError("input", "bad $ndarray: dtype %r shape %r (dtype must be one of %s)" % (dtype, shape, ", ".join(FORMATS)), "ValueError")
    count = 1
    for d in shape:
        count *= d
    itemsize = struct.calcsize(FORMATS[dtype])
    if len(buf) != count * itemsize:
        raise RunnerError("input", "$ndarray of shape %r and dtype %s needs %d bytes, its buffer has %d" % (shape, dtype, count * itemsize, len(buf)), "ValueError")
    np = numpy()
    if np is not None:
        return np.frombuffer(buf, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
    if count == 0 or not shape:
        flat = list(struct.unpack("<%d%s" % (count, FORMATS[dtype]), buf))
        return flat[0] if not shape else _nest(flat, shape)
    return memoryview(buf).cast(FORMATS[dtype], shape).tolist()


def _nest(flat, shape):
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def to_plain(value):
    """The value with every numpy array made plain lists and numbers (numpy's tolist()), for methods that take
    lists or numbers: a float64 $ndarray is how NaN and Infinity reach them, as real Python floats."""
    np = sys.modules.get("numpy")
    if np is None:
        return value  # without numpy, arrays were decoded to lists already
    return _plain(np, value)


def _plain(np, value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list):
        return [_plain(np, v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(np, v) for k, v in value.items()}
    return value


# ---------------------------------------------------------------- to the wire


class OutputError(Exception):
    """A model output that cannot be sent as it is; `path` names where, innermost key last added."""

    def __init__(self, what, hint, type_):
        Exception.__init__(self, what)
        self.what, self.hint, self.type, self.path = what, hint, type_, []

    def where(self, root="output"):
        """The path of the offending value, e.g. output[2].scores."""
        text = root
        for key in reversed(self.path):
            text += "[%d]" % key if isinstance(key, int) else ".%s" % key
        return text

    def to_runner_error(self, root="output"):
        return RunnerError("model", "the model's output at %s %s; %s" % (self.where(root), self.what, self.hint), self.type)


def encode_value(value, out):
    """Turn a Python output into wire JSON, appending raw buffers (numpy arrays, bytes) to out.

    Raises OutputError for what cannot be sent: an unsupported type, an integer beyond float64, or an
    object shaped like a reserved reference.
    """
    t = type(value)
    if t is str or t is bool or value is None:
        return value
    if t is int:
        return value if value < _SAFE_INT and value > _NEG_SAFE_INT else _big_int(value)
    if t is float:
        return value if value - value == 0.0 else _non_finite(value, out)
    if t is list or t is tuple:
        return _encode_list(value, out)
    if t is dict:
        return _encode_dict(value, out)
    if isinstance(value, str):  # subclasses such as str enums
        return str(value)
    if isinstance(value, float):  # numpy.float64 and other subclasses
        return encode_value(float(value), out)
    if isinstance(value, int):  # IntEnum and other subclasses
        return encode_value(value.__index__(), out)
    if isinstance(value, (list, tuple)):
        return _encode_list(value, out)
    if isinstance(value, dict):
        return _encode_dict(value, out)
    if isinstance(value, (bytes, bytearray, memoryview)):
        out.append(value)
        return {"$bytes": {"buffer": len(out) - 1}}
    np = sys.modules.get("numpy")  # if the model never imported numpy, no output can be a numpy value
    if np is not None:
        if isinstance(value, np.ndarray):
            return _encode_ndarray(np, value, out)
        if isinstance(value, np.generic):
            return encode_value(value.item(), out)
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # torch tensors
        return encode_value(value.detach().cpu().numpy(), out)
    if isinstance(value, (set, frozenset)):
        return _encode_list(list(value), out)
    raise OutputError("is a %s, which cannot be sent" % type(value).__name__,
                      "return JSON values, bytes or numpy arrays", "TypeError")


def _non_finite(value, out):
    # JSON has no NaN or Infinity: a 0-d float64 array carries the exact value.
    out.append(_FLOAT64.pack(value))
    return {"$ndarray": {"dtype": "float64", "shape": [], "buffer": len(out) - 1}}


def _big_int(value):
    try:
        float(value)
        return value
    except OverflowError:
        raise OutputError("is an integer of %d digits, beyond the range of a float64 (JSON readers would make it Infinity)"
                          % len(str(abs(value))), "return it as a string, or as a float if it may be rounded", "OverflowError")


def _encode_list(value, out):
    try:
        return [encode_value(v, out) for v in value]
    except OutputError as e:
        e.path.append(_failing_index(value))
        raise


def _failing_index(items):
    # Only on the error path: find which item failed, to name it in the message.
    for i, v in enumerate(items):
        try:
            encode_value(v, [])
        except OutputError:
            return i
    return 0


def _encode_dict(value, out):
    try:
        result = {k if type(k) is str else str(k): encode_value(v, out) for k, v in value.items()}
    except OutputError as e:
        e.path.append(_failing_key(value))
        raise
    if len(result) == 1:
        key = next(iter(result))
        if key in RESERVED_KEYS:
            raise OutputError('is an object whose only key is "%s", which the runner protocol reserves for binary values' % key,
                              "rename the key or add another key to the object", "ValueError")
    return result


def _failing_key(value):
    for k, v in value.items():
        try:
            encode_value(v, [])
        except OutputError:
            return str(k)
    return "?"


def _encode_ndarray(np, arr, out):
    if arr.dtype.name not in FORMATS:
        return encode_value(arr.tolist(), out)  # strings, objects, complex: as nested lists
    a = np.asarray(arr)
    if not a.flags.c_contiguous:  # not np.ascontiguousarray, which makes a 0-d array 1-d
        a = a.copy(order="C")
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    out.append(memoryview(a.reshape(-1).view(np.uint8)))
    return {"$ndarray": {"dtype": a.dtype.name, "shape": list(a.shape), "buffer": len(out) - 1}}
