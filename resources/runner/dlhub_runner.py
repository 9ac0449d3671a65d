#!/usr/bin/env python3
"""DLHub runner: loads one servable and answers framed requests from the host.

Standard library only (Python >= 3.8): numpy and the model libraries are imported only when
the servable needs them. Inputs from the wire are JSON and raw buffers and are never unpickled;
only the servable's own model file is unpickled, because it is the servable's trusted code.

Frame: uint32 BE len | uint32 BE header_len | UTF-8 JSON header | raw buffers.
The protocol is specified in schemas/runner-protocol.json.
"""
import importlib
import json
import os
import re
import socket
import struct
import sys
import time
import traceback

VERSION = "0.1.0"
PROTOCOL = 1
CAPABILITIES = ["batch", "ndarray", "bytes"]
DEFAULT_SERVABLE_DIR = "/opt/dlhub/servable"

_U32 = struct.Struct(">I")
_PREFIX = struct.Struct(">II")
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
# numpy dtype name -> struct format, used to decode arrays when numpy is not installed.
_FORMATS = {
    "bool": "?", "int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i",
    "uint32": "I", "int64": "q", "uint64": "Q", "float16": "e", "float32": "f", "float64": "d",
}
_ARRAY_SHIMS = ("sklearn.ScikitLearnServable", "keras.KerasServable", "torch.TorchServable", "onnx.ONNXServable")


class RunnerError(Exception):
    """An error reported to the host as {kind, type, message, traceback}."""

    def __init__(self, kind, message, type_="RunnerError", tb=""):
        Exception.__init__(self, message)
        self.kind, self.message, self.type, self.tb = kind, message, type_, tb

    def to_wire(self):
        return {"kind": self.kind, "type": self.type, "message": self.message, "traceback": self.tb}


def _numpy():
    """numpy if it can be imported, else None (imported once, on first need)."""
    np = sys.modules.get("numpy")
    if np is not None:
        return np
    try:
        return importlib.import_module("numpy")
    except ImportError:
        return None


# ---------------------------------------------------------------- values


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
    if dtype not in _FORMATS or not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise RunnerError("input", "bad $ndarray: dtype %r shape %r (dtype must be one of %s)" % (dtype, shape, ", ".join(_FORMATS)), "ValueError")
    count = 1
    for d in shape:
        count *= d
    itemsize = struct.calcsize(_FORMATS[dtype])
    if len(buf) != count * itemsize:
        raise RunnerError("input", "$ndarray of shape %r and dtype %s needs %d bytes, its buffer has %d" % (shape, dtype, count * itemsize, len(buf)), "ValueError")
    np = _numpy()
    if np is not None:
        return np.frombuffer(buf, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
    if count == 0 or not shape:
        flat = list(struct.unpack("<%d%s" % (count, _FORMATS[dtype]), buf))
        return flat[0] if not shape else _nest(flat, shape)
    return memoryview(buf).cast(_FORMATS[dtype], shape).tolist()


def _nest(flat, shape):
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def encode_value(value, out):
    """Turn a Python output into wire JSON, appending raw buffers (numpy arrays, bytes) to out."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        return value if value - value == 0.0 else None  # JSON has no NaN or Infinity
    if isinstance(value, (str, int, float)):  # subclasses such as IntEnum or numpy.float64
        return encode_value(float(value) if isinstance(value, float) else value.__index__() if isinstance(value, int) else str(value), out)
    if isinstance(value, (list, tuple)):
        return [encode_value(v, out) for v in value]
    if isinstance(value, dict):
        return {str(k): encode_value(v, out) for k, v in value.items()}
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
        return [encode_value(v, out) for v in value]
    raise TypeError("the output contains a %s, which cannot be sent; return JSON values, bytes or numpy arrays" % type(value).__name__)


def _encode_ndarray(np, arr, out):
    if arr.dtype.name not in _FORMATS:
        return encode_value(arr.tolist(), out)  # strings, objects, complex: as nested lists
    a = np.ascontiguousarray(arr)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    out.append(memoryview(a.reshape(-1).view(np.uint8)))
    return {"$ndarray": {"dtype": a.dtype.name, "shape": list(a.shape), "buffer": len(out) - 1}}


# ---------------------------------------------------------------- servables


class Method(object):
    """One callable method of the servable: how to coerce its input, call it, and batch it."""

    def __init__(self, name, fn, input_type, array_batch, autobatch):
        self.name, self.fn, self.array_batch, self.autobatch = name, fn, array_batch, autobatch
        self.np = _numpy() if input_type == "ndarray" or array_batch else None
        # Seconds spent inside the model's own function since the request began (the run reply's inference_ms):
        # decoding, coercion, joining/splitting batches and encoding the output are left out.
        self.inference_s = 0.0

    def _invoke(self, value, params):
        start = time.perf_counter()
        try:
            return _invoke(self.fn, value, params)
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


def _invoke(fn, value, params):
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


def servable_file(meta, role):
    """Where a servable names its `role` file ("model", "pickle"): dlhub.files (as DLHub's SDK writes
    it) or servable.files (older documents); the same rule as main/servable/servable-files.ts."""
    for block in ("dlhub", "servable"):
        rel = ((meta.get(block) or {}).get("files") or {}).get(role)
        if isinstance(rel, str) and rel:
            return rel
    return None


def _model_path(meta, directory, role="model"):
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


def _library(name, shim):
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise RunnerError("load", "a %s servable needs the Python library '%s', which is not installed (%s); it must be in the image "
                          "(declare it in dlhub.json dependencies and rebuild)" % (shim, name.split(".")[0], e), "ModuleNotFoundError")


def _load_static(meta, directory, details):
    module = importlib.import_module(details["module"])
    return getattr(module, details["method_name"])


def _load_sklearn(meta, directory):
    path = _model_path(meta, directory)
    how = ((meta.get("servable") or {}).get("options") or {}).get("serialization_method", "pickle")
    if how == "joblib":
        return _library("joblib", "Scikit-learn").load(path)
    import pickle  # the servable's own model file, never wire input
    with open(path, "rb") as f:
        return pickle.load(f)


def _load_class_method(meta, directory):
    import pickle  # the servable's own pickled object, never wire input
    with open(_model_path(meta, directory, "pickle"), "rb") as f:
        return pickle.load(f)


def _load_tensorflow(meta, directory):
    tf = _library("tensorflow", "TensorFlow")
    rel = servable_file(meta, "model")
    model = tf.saved_model.load(_model_path(meta, directory) if rel else directory)
    return model.signatures["serving_default"]


def _load_keras(meta, directory):
    return _library("tensorflow.keras.models", "Keras").load_model(_model_path(meta, directory))


def _load_torch(meta, directory):
    torch = _library("torch", "PyTorch")
    path = _model_path(meta, directory)
    try:
        model = torch.load(path, weights_only=False)
    except TypeError:  # torch older than 1.13 has no weights_only
        model = torch.load(path)
    model.eval()

    def call(x, **params):
        with torch.no_grad():
            return model(torch.as_tensor(x), **params)
    return call


def _load_onnx(meta, directory):
    session = _library("onnxruntime", "ONNX").InferenceSession(_model_path(meta, directory))
    first = session.get_inputs()[0].name

    def call(x, **_params):
        outputs = session.run(None, {first: x})
        return outputs[0] if len(outputs) == 1 else outputs
    return call


_MODEL_LOADERS = {
    "sklearn.ScikitLearnServable": _load_sklearn,
    "keras.KerasServable": _load_keras,
    "torch.TorchServable": _load_torch,
    "onnx.ONNXServable": _load_onnx,
    "python.PythonClassMethodServable": _load_class_method,
    "tensorflow.TensorFlowServable": _load_tensorflow,
}


def load_methods(meta, directory):
    """Load the servable's model eagerly and return {method name: Method}."""
    servable = meta.get("servable") or {}
    shim = servable.get("shim")
    declared = servable.get("methods") or {}
    if shim != "python.PythonStaticMethodServable" and shim not in _MODEL_LOADERS:
        raise RunnerError("load", "servable.shim %r is not supported; use one of python.PythonStaticMethodServable, %s" % (shim, ", ".join(_MODEL_LOADERS)), "ValueError")
    if directory not in sys.path:
        sys.path.insert(0, directory)
    model = _MODEL_LOADERS[shim](meta, directory) if shim in _MODEL_LOADERS else None
    methods = {}
    for name, m in declared.items():
        details = m.get("method_details") or {}
        input_type = (m.get("input") or {}).get("type")
        if shim == "python.PythonStaticMethodServable":
            fn = _load_static(meta, directory, details)
        elif callable(model) and shim in ("torch.TorchServable", "onnx.ONNXServable", "tensorflow.TensorFlowServable"):
            fn = model
        else:
            wanted = details.get("method_name") or name
            # DLHub's SDK wrote scikit-learn's private "_predict_proba"; newer releases only have the public name.
            fn = getattr(model, wanted, None) or getattr(model, wanted.lstrip("_"), None)
            if fn is None:
                raise RunnerError("load", "the model (%s) has no method %r" % (type(model).__name__, wanted), "AttributeError")
        methods[name] = Method(name, fn, input_type, shim in _ARRAY_SHIMS, bool(details.get("autobatch")))
    return methods


# ---------------------------------------------------------------- serving


class Runner(object):
    """Answers hello, describe, run and shutdown for one servable."""

    def __init__(self, directory):
        self.directory, self.meta, self.methods, self.load_error = directory, None, {}, None
        try:
            with open(os.path.join(directory, "dlhub.json"), "rb") as f:
                self.meta = json.load(f)
            self.methods = load_methods(self.meta, directory)
        except RunnerError as e:
            self.load_error = e
        except Exception as e:
            self.load_error = RunnerError("load", "%s (servable folder %s)" % (e, directory), type(e).__name__, traceback.format_exc())
        if self.load_error is not None:
            sys.stderr.write("dlhub_runner: servable failed to load: %s\n" % self.load_error.message)

    def handle(self, header, buffers):
        """Answer one request: (response header, response buffers, keep serving?)."""
        rid = header.get("id")
        op = header.get("op")
        try:
            if op == "run":
                return self.run(rid, header, buffers), True
            if op == "hello":
                return (self.hello(rid, header), []), True
            if op == "describe":
                return ({"id": rid, "ok": True, "result": self.describe()}, []), True
            if op == "shutdown":
                return ({"id": rid, "ok": True, "result": None}, []), False
            raise RunnerError("protocol", "unknown op %r; expected hello, describe, run or shutdown" % (op,), "ValueError")
        except RunnerError as e:
            return ({"id": rid, "ok": False, "error": e.to_wire()}, []), True
        except RecursionError as e:  # a deeply nested input; the worker itself is fine
            err = RunnerError("input", "the input is nested too deeply for the runner (Python's recursion limit is %d): %s"
                              % (sys.getrecursionlimit(), e), "RecursionError")
            return ({"id": rid, "ok": False, "error": err.to_wire()}, []), True
        except Exception as e:  # a malformed request (e.g. a list where a name belongs) fails alone
            err = RunnerError("input", "the request could not be handled: %s: %s" % (type(e).__name__, e), type(e).__name__, traceback.format_exc())
            return ({"id": rid, "ok": False, "error": err.to_wire()}, []), True

    def _ready(self):
        if self.load_error is not None:
            raise self.load_error

    def hello(self, rid, header):
        if header.get("protocol") != PROTOCOL:
            raise RunnerError("protocol", "host speaks protocol %r, this runner speaks %d; rebuild the image with this version of DLHub" % (header.get("protocol"), PROTOCOL), "ValueError")
        self._ready()
        dlhub, servable = self.meta.get("dlhub") or {}, self.meta.get("servable") or {}
        return {"id": rid, "ok": True, "result": {
            "protocol": PROTOCOL, "runner": VERSION, "python": "%d.%d.%d" % sys.version_info[:3],
            "servable": {"name": dlhub.get("name", ""), "type": servable.get("type", "")},
            "methods": list(self.methods), "capabilities": CAPABILITIES}}

    def describe(self):
        if self.meta is None:
            raise self.load_error
        result = dict(self.meta)
        declared = (self.meta.get("servable") or {}).get("methods") or {}
        result["methods"] = {n: {k: m.get(k) for k in ("input", "output", "parameters", "description") if k in m} for n, m in declared.items()}
        return result

    def run(self, rid, header, buffers):
        self._ready()
        method = self.methods.get(header.get("method"))
        if method is None:
            raise RunnerError("method", "servable has no method %r; its methods are: %s" % (header.get("method"), ", ".join(self.methods)), "KeyError")
        params = header.get("parameters") or {}
        method.inference_s = 0.0
        start = time.perf_counter()
        if header.get("batch"):
            inputs = header.get("inputs")
            if not isinstance(inputs, list):
                raise RunnerError("input", "a batch run needs 'inputs', a list of inputs", "TypeError")
            output = method.call_batch(decode_value(inputs, buffers), params)
        else:
            output = method.call(decode_value(header.get("input"), buffers), params)
        elapsed = (time.perf_counter() - start) * 1000.0
        out = []
        try:
            result = encode_value(output, out)
        except Exception as e:
            raise RunnerError("model", str(e), type(e).__name__, traceback.format_exc())
        return {"id": rid, "ok": True, "result": result, "timing": {"invoke_ms": elapsed, "inference_ms": method.inference_s * 1000.0}}, out


class FrameError(RunnerError):
    """A frame that was read whole but cannot be answered: the stream is still in step, so only
    this request fails (rid is recovered from the header's start when possible)."""

    def __init__(self, rid, kind, message, type_="ValueError"):
        RunnerError.__init__(self, kind, message, type_)
        self.rid = rid


_DISCARD_CHUNK = 1 << 20
# The host writes `{"id":N,` first, so a request's id can be found even when its header is not JSON.
_ID_PREFIX = re.compile(rb'\A\{"id":(\d{1,15})[,}]')


def _recover_id(head):
    match = _ID_PREFIX.match(bytes(head[:32]))
    return int(match.group(1)) if match else None


def read_frame(reader, max_bytes):
    """Read one frame: (header, buffers), or None at a clean end of stream.

    A frame that is oversize or malformed raises FrameError after all its bytes were consumed, so
    the next frame can still be read; EOFError means the stream ended inside a frame.
    """
    head = reader.read(4)
    if not head:
        return None
    if len(head) < 4:
        raise EOFError("stream ended inside a frame")
    (size,) = _U32.unpack(head)
    if size > max_bytes or size < 4:
        first = _discard(reader, size)  # never allocate what the length field claims
        rid = _recover_id(first[4:]) if len(first) >= 4 else None
        raise FrameError(rid, "protocol", "frame of %d bytes is outside 4..%d bytes" % (size, max_bytes))
    body = bytearray(size)  # writable, so numpy arrays made on it are writable too
    view = memoryview(body)
    got = 0
    while got < size:
        n = reader.readinto(view[got:])
        if not n:
            raise EOFError("stream ended inside a frame")
        got += n
    (header_len,) = _U32.unpack_from(body, 0)
    raw = view[4:4 + header_len]
    rid = _recover_id(raw)
    if header_len > size - 4:
        raise FrameError(rid, "protocol", "header length %d exceeds the frame body of %d bytes" % (header_len, size))
    try:
        header = json.loads(bytes(raw))
    except RecursionError:
        raise FrameError(rid, "input", "the request is nested too deeply for the runner to decode (Python's recursion limit is %d); "
                         "send a flatter input" % sys.getrecursionlimit(), "RecursionError")
    except (ValueError, UnicodeDecodeError) as e:
        raise FrameError(rid, "protocol", "frame header is not JSON (%s)" % e, type(e).__name__)
    if not isinstance(header, dict):
        raise FrameError(rid, "protocol", "frame header is not a JSON object")
    if isinstance(header.get("id"), int) and not isinstance(header.get("id"), bool):
        rid = header["id"]
    lengths = header.get("buffers") or []
    if not isinstance(lengths, list):
        raise FrameError(rid, "protocol", "header.buffers is not a list")
    buffers, offset = [], 4 + header_len
    for n in lengths:
        if not isinstance(n, int) or isinstance(n, bool) or n < 0 or offset + n > size:
            raise FrameError(rid, "protocol", "buffer length %r does not fit in the frame" % (n,))
        buffers.append(view[offset:offset + n])
        offset += n
    if offset != size:
        raise FrameError(rid, "protocol", "header.buffers add up to %d bytes but the frame carries %d" % (offset - 4 - header_len, size - 4 - header_len))
    return header, buffers


def _discard(reader, size):
    """Skip `size` bytes in bounded chunks; returns the first chunk (to recover the request id)."""
    first, left = b"", size
    while left > 0:
        chunk = reader.read(min(left, _DISCARD_CHUNK))
        if not chunk:
            raise EOFError("stream ended inside a frame")
        if not first:
            first = chunk
        left -= len(chunk)
    return first


def write_frame(writer, header, buffers):
    """Write one frame and flush it."""
    if buffers:
        header["buffers"] = [memoryview(b).nbytes for b in buffers]
    try:
        data = _encode_json(header).encode("utf-8")
    except RecursionError:  # an output nested too deeply for the JSON encoder: answer with an error instead
        buffers = []
        data = _encode_json({"id": header.get("id"), "ok": False, "error": RunnerError(
            "model", "the output is nested too deeply to send (Python's recursion limit is %d)" % sys.getrecursionlimit(),
            "RecursionError").to_wire()}).encode("utf-8")
    except ValueError:  # NaN in a JSON value despite encode_value: send it as null
        data = json.dumps(header, separators=(",", ":"), default=str).replace("NaN", "null").encode("utf-8")
    size = 4 + len(data) + sum(memoryview(b).nbytes for b in buffers)
    writer.write(_PREFIX.pack(size, len(data)) + data)
    for b in buffers:
        writer.write(b)
    writer.flush()


def serve(runner, reader, writer, max_bytes):
    """Answer requests one at a time until shutdown or end of stream; returns the exit code.

    A bad frame gets an error reply and the runner goes on with the next one: one hostile
    request must not take down a worker that other requests share.
    """
    while True:
        try:
            frame = read_frame(reader, max_bytes)
        except FrameError as e:
            write_frame(writer, {"id": e.rid, "ok": False, "error": e.to_wire()}, [])
            continue
        except EOFError:
            return 0
        if frame is None:
            return 0
        (response, buffers), keep_going = runner.handle(*frame)
        write_frame(writer, response, buffers)
        if not keep_going:
            return 0


def _stdio_streams():
    """Keep fd 0/1 for frames only: the model's prints go to stderr, its reads of stdin see nothing."""
    frames_in = os.fdopen(os.dup(0), "rb")
    frames_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout.flush()
    os.dup2(2, 1)
    return frames_in, frames_out


def main(argv):
    if "--version" in argv:
        print(VERSION)
        return 0
    max_bytes = int(os.environ.get("DLHUB_MAX_FRAME_BYTES") or (1 << 30))
    path = os.environ.get("DLHUB_SOCKET")
    if path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        reader, writer = sock.makefile("rb"), sock.makefile("wb")
    else:
        reader, writer = _stdio_streams()  # before loading, so prints during load are moved too
    runner = Runner(os.environ.get("DLHUB_SERVABLE_DIR") or DEFAULT_SERVABLE_DIR)
    try:
        return serve(runner, reader, writer, max_bytes)
    except (BrokenPipeError, ConnectionResetError):
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
