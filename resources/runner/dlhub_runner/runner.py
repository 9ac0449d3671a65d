"""Answers hello, describe, run and shutdown for one servable."""
import json
import os
import sys
import time
import traceback

from . import PROTOCOL, VERSION
from .errors import RunnerError
from .loaders import load_methods
from .values import OutputError, decode_value, encode_value, to_plain

CAPABILITIES = ["batch", "ndarray", "bytes"]


class Runner(object):
    """One servable, loaded once: each request is answered by handle()."""

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
            "methods": list(self.methods), "capabilities": CAPABILITIES,
            **({"framework": self.methods.framework} if getattr(self.methods, "framework", None) else {})}}

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
        batch = bool(header.get("batch"))
        if batch:
            inputs = header.get("inputs")
            if not isinstance(inputs, list):
                raise RunnerError("input", "a batch run needs 'inputs', a list of inputs", "TypeError")
            value = decode_value(inputs, buffers)
        else:
            value = decode_value(header.get("input"), buffers)
        if buffers and method.plain:  # only a frame with buffers can hold an array
            value = to_plain(value)
        output = method.call_batch(value, params) if batch else method.call(value, params)
        elapsed = (time.perf_counter() - start) * 1000.0
        out = []
        try:
            result = encode_value(output, out)
        except OutputError as e:
            raise e.to_runner_error("outputs" if batch else "output")
        except Exception as e:
            raise RunnerError("model", str(e), type(e).__name__, traceback.format_exc())
        return {"id": rid, "ok": True, "result": result, "timing": {"invoke_ms": elapsed, "inference_ms": method.inference_s * 1000.0}}, out
