"""What the runner sends and receives for values JSON cannot carry as they are: NaN and Infinity, integers
beyond float64, objects shaped like a reserved reference, 0-d arrays, and NaN on its way into a list.

Run with: /usr/bin/python3 -m unittest test_values  (from resources/runner; needs numpy).
"""
import io
import json
import math
import os
import random
import shutil
import struct
import sys
import tempfile
import unittest

import numpy as np

from dlhub_runner import main, methods, runner, values, wire

APP = """
import math

def echo(x):
    return x

def kinds(x):
    return [type(v).__name__ for v in x]

def nan_count(x):
    return sum(1 for v in x if isinstance(v, float) and math.isnan(v))

def plus_one(x):
    return x + 1

def specials(x):
    return {"nan": float("nan"), "inf": math.inf, "ninf": -math.inf, "f32": [1.5, float("1e400")], "ok": 2.0}

def huge(x):
    return {"n": [1, 10 ** 400]}

def reserved(x):
    return {"rows": [{"$bytes": "not binary"}]}

def reserved_ndarray(x):
    return {1: 2} if x else {"$ndarray": {"dtype": "float64", "shape": [], "buffer": 0}}

def zero_d(x):
    return x
"""


def make_servable(directory, typed):
    with open(os.path.join(directory, "values_app.py"), "w") as f:
        f.write(APP)
    meta = {"dlhub": {"name": "values"}, "servable": {"type": "Python static method", "shim": "python.PythonStaticMethodServable", "methods": {
        name: {"input": {"type": t}, "output": {"type": "python object"}, "method_details": {"module": "values_app", "method_name": fn}}
        for name, (fn, t) in typed.items()}}}
    with open(os.path.join(directory, "dlhub.json"), "w") as f:
        json.dump(meta, f)


def ndarray(a, index=0):
    return {"$ndarray": {"dtype": a.dtype.name, "shape": list(a.shape), "buffer": index}}


class ServedTest(unittest.TestCase):
    """Requests through the serving loop, as the host sends them."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        make_servable(self.dir, {
            "echo_list": ("echo", "list"), "kinds": ("kinds", "list"), "nan_count": ("nan_count", "list"),
            "plus_one": ("plus_one", "float"), "echo_array": ("echo", "ndarray"), "echo_object": ("echo", "python object"),
            "specials": ("specials", "python object"), "huge": ("huge", "python object"), "reserved": ("reserved", "python object"),
            "reserved_ndarray": ("reserved_ndarray", "python object"), "zero_d": ("zero_d", "python object"),
        })
        self.runner = runner.Runner(self.dir)
        self.assertIsNone(self.runner.load_error)

    def tearDown(self):
        shutil.rmtree(self.dir)
        sys.modules.pop("values_app", None)

    def call(self, method, value=None, buffers=(), batch=False):
        request = {"id": 7, "op": "run", "method": method, ("inputs" if batch else "input"): value}
        if batch:
            request["batch"] = True
        data = io.BytesIO()
        wire.write_frame(data, request, list(buffers))
        out = io.BytesIO()
        self.assertEqual(main.serve(self.runner, io.BytesIO(data.getvalue()), out, 1 << 20), 0)
        header, bufs = wire.read_frame(io.BytesIO(out.getvalue()), 1 << 20)
        self.assertEqual(header["id"], 7)
        return header, [bytes(b) for b in bufs]

    def decoded(self, header, bufs):
        self.assertTrue(header["ok"], header)
        return values.decode_value(header["result"], [memoryview(bytearray(b)) for b in bufs])

    def test_non_finite_outputs_travel_as_0d_float64_arrays_with_their_exact_value(self):
        header, bufs = self.call("specials", 1)
        result = header["result"]
        self.assertEqual(result["ok"], 2.0)
        self.assertEqual(result["nan"], {"$ndarray": {"dtype": "float64", "shape": [], "buffer": result["nan"]["$ndarray"]["buffer"]}})
        self.assertEqual(result["f32"][0], 1.5)
        out = self.decoded(header, bufs)
        self.assertTrue(math.isnan(out["nan"]))
        self.assertEqual((out["inf"].shape, float(out["inf"]), float(out["ninf"]), float(out["f32"][1])), ((), math.inf, -math.inf, math.inf))
        self.assertEqual(out["nan"].dtype.name, "float64")
        # The header itself is strict JSON: no NaN or Infinity literal anywhere.
        self.assertNotIn(b"NaN", json.dumps(header).encode())

    def test_an_integer_beyond_float64_fails_as_a_model_error_that_says_where_and_why(self):
        header, _ = self.call("huge", 1)
        self.assertFalse(header["ok"])
        self.assertEqual((header["error"]["kind"], header["error"]["type"]), ("model", "OverflowError"))
        self.assertIn("output.n[1]", header["error"]["message"])
        self.assertIn("401 digits", header["error"]["message"])
        # The largest integers a float64 holds still pass as numbers.
        self.assertEqual(values.encode_value([2 ** 1023, -(10 ** 308)], []), [2 ** 1023, -(10 ** 308)])

    def test_an_output_shaped_like_a_reserved_reference_is_refused_as_the_models_error(self):
        for method, path, key in (("reserved", "output.rows[0]", "$bytes"), ("reserved_ndarray", "output", "$ndarray")):
            header, _ = self.call(method, 0)
            self.assertFalse(header["ok"], method)
            self.assertEqual(header["error"]["kind"], "model", method)  # never "input": the caller did nothing wrong
            self.assertIn("output at %s is an object" % path, header["error"]["message"])
            self.assertIn('only key is "%s"' % key, header["error"]["message"])
            self.assertIn("rename the key", header["error"]["message"])
        # With a second key the object is ordinary data.
        self.assertEqual(values.encode_value({"$bytes": 1, "note": "x"}, []), {"$bytes": 1, "note": "x"})

    def test_batch_output_errors_name_the_item(self):
        header, _ = self.call("reserved_ndarray", [1, 0], batch=True)
        self.assertFalse(header["ok"])
        self.assertIn("outputs[1]", header["error"]["message"])

    def test_a_0d_array_comes_back_with_shape_0d(self):
        a = np.array(2.5)
        header, bufs = self.call("zero_d", ndarray(a), [a.tobytes()])
        self.assertEqual(header["result"]["$ndarray"]["shape"], [])
        out = self.decoded(header, bufs)
        self.assertEqual((out.shape, float(out)), ((), 2.5))
        # Inside a structure, and of another dtype, too.
        i = np.array(7, dtype="int32")
        header, bufs = self.call("zero_d", {"v": [ndarray(i)]}, [i.tobytes()])
        self.assertEqual(header["result"]["v"][0]["$ndarray"], {"dtype": "int32", "shape": [], "buffer": 0})

    def test_a_float64_array_reaches_a_list_method_as_a_list_of_real_floats(self):
        a = np.array([1.0, np.nan, np.inf, -np.inf])
        header, _ = self.call("kinds", ndarray(a), [a.tobytes()])
        self.assertEqual(header["result"], ["float"] * 4)
        header, _ = self.call("nan_count", ndarray(a), [a.tobytes()])
        self.assertEqual(header["result"], 1)
        # One NaN among plain numbers: a 0-d array as an item of the list.
        nan = np.array(np.nan)
        header, _ = self.call("kinds", [1.0, ndarray(nan), 3], [nan.tobytes()])
        self.assertEqual(header["result"], ["float", "float", "int"])
        # A batch: each input is made plain.
        header, _ = self.call("nan_count", [ndarray(a), [1.0]], [a.tobytes()], batch=True)
        self.assertEqual(header["result"], [1, 0])

    def test_what_a_list_method_returns_with_nan_comes_back_as_it_was_sent(self):
        a = np.array([0.5, np.nan])
        header, bufs = self.call("echo_list", ndarray(a), [a.tobytes()])
        self.assertEqual(header["result"][0], 0.5)
        self.assertEqual(header["result"][1]["$ndarray"]["shape"], [])
        out = self.decoded(header, bufs)
        self.assertTrue(math.isnan(out[1]))

    def test_a_float_method_gets_a_0d_array_as_a_python_float(self):
        inf = np.array(np.inf)
        header, bufs = self.call("plus_one", ndarray(inf), [inf.tobytes()])
        self.assertEqual(header["result"]["$ndarray"]["shape"], [])
        self.assertEqual(float(self.decoded(header, bufs)), math.inf)

    def test_ndarray_and_python_object_methods_still_get_arrays(self):
        a = np.array([[1.0, 2.0]])
        for method in ("echo_array", "echo_object"):
            header, _ = self.call(method, ndarray(a), [a.tobytes()])
            self.assertEqual(header["result"]["$ndarray"]["shape"], [1, 2], method)


class ValueUnitTest(unittest.TestCase):
    def test_numpy_scalars_that_are_not_finite_become_0d_arrays(self):
        out = []
        ref = values.encode_value([np.float32("nan"), np.float64("-inf"), np.float16(1.0)], out)
        self.assertEqual(ref[2], 1.0)
        self.assertEqual([r["$ndarray"]["shape"] for r in ref[:2]], [[], []])
        self.assertEqual([struct.unpack("<d", b)[0] for b in out][1], -math.inf)

    def test_without_numpy_a_0d_array_decodes_to_its_number(self):
        from unittest import mock
        with mock.patch.object(values, "numpy", lambda: None):
            got = values.decode_value({"$ndarray": {"dtype": "float64", "shape": [], "buffer": 0}}, [struct.pack("<d", math.inf)])
        self.assertEqual(got, math.inf)

    def test_plain_types_are_the_json_kinds(self):
        m = methods.Method("m", lambda x: x, "list", False, False)
        self.assertTrue(m.plain)
        self.assertFalse(methods.Method("m", lambda x: x, "ndarray", False, False).plain)
        self.assertFalse(methods.Method("m", lambda x: x, "list", True, False).plain)  # array frameworks keep arrays

    def test_metadata_with_nan_is_sent_with_null_and_strings_untouched(self):
        out = io.BytesIO()
        wire.write_frame(out, {"id": 1, "ok": True, "result": {"d": "NaN handling", "x": float("nan"), "l": [math.inf, 1]}}, [])
        header, _ = wire.read_frame(io.BytesIO(out.getvalue()), 1 << 20)
        self.assertEqual(header["result"], {"d": "NaN handling", "x": None, "l": [None, 1]})


class OutputFuzzTest(unittest.TestCase):
    """Random outputs: what can be sent survives a real frame exactly; what cannot fails as an OutputError naming where."""

    SPECIAL = (float("nan"), math.inf, -math.inf, 1e308, -0.5, 0.0)
    KEYS = ("a", "$bytes", "$ndarray", "buffers", "1", "")

    def value(self, rng, depth):
        kind = rng.randrange(9 if depth < 4 else 5)
        if kind == 0:
            return rng.choice((None, True, False, "NaN", "s\u00e9"))
        if kind == 1:
            return rng.choice((rng.randrange(-10 ** 6, 10 ** 6), 2 ** 63, -(2 ** 70)))
        if kind == 2:
            return rng.choice(self.SPECIAL + (rng.uniform(-1e6, 1e6),))
        if kind == 3:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(5)))
        if kind == 4:
            shape = [rng.randrange(3) for _ in range(rng.randrange(3))]
            dtype = rng.choice(("float64", "float32", "int16", "bool", "uint8"))
            return (np.arange(int(np.prod(shape)) if shape else 1) * 1.5).astype(dtype).reshape(shape)
        if kind in (5, 6):
            return [self.value(rng, depth + 1) for _ in range(rng.randrange(4))]
        if kind == 7:
            return tuple(self.value(rng, depth + 1) for _ in range(rng.randrange(3)))
        return {rng.choice(self.KEYS): self.value(rng, depth + 1) for _ in range(rng.randrange(4))}

    def reserved_at(self, value, path=()):
        """Path of the first object whose only key is reserved, in the order the encoder walks."""
        if isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                found = self.reserved_at(v, path + (i,))
                if found is not None:
                    return found
        if isinstance(value, dict):
            for k, v in value.items():
                found = self.reserved_at(v, path + (k,))
                if found is not None:
                    return found
            if len(value) == 1 and next(iter(value)) in values.RESERVED_KEYS:
                return path
        return None

    def same(self, sent, got):
        if isinstance(sent, float) and not math.isfinite(sent):
            self.assertIsInstance(got, np.ndarray)
            self.assertEqual((got.shape, got.dtype.name), ((), "float64"))
            self.assertTrue(math.isnan(float(got)) if math.isnan(sent) else float(got) == sent)
        elif isinstance(sent, np.ndarray):
            self.assertEqual((got.shape, got.dtype.name), (sent.shape, sent.dtype.name))
            np.testing.assert_array_equal(got, sent)
        elif isinstance(sent, (list, tuple)):
            self.assertEqual(len(got), len(sent))
            for a, b in zip(sent, got):
                self.same(a, b)
        elif isinstance(sent, dict):
            self.assertEqual(list(got), list(sent))
            for k in sent:
                self.same(sent[k], got[k])
        else:
            self.assertEqual(got, sent)
            self.assertEqual(type(got), type(sent))

    def test_random_outputs(self):
        rng = random.Random(12)
        refused = 0
        for _ in range(400):
            value = self.value(rng, 0)
            out = []
            reserved = self.reserved_at(value)
            try:
                encoded = values.encode_value(value, out)
            except values.OutputError as e:
                self.assertIsNotNone(reserved, value)
                self.assertEqual(e.where(), values.OutputError("", "", "").where() + "".join(
                    "[%d]" % k if isinstance(k, int) else ".%s" % k for k in reserved))
                refused += 1
                continue
            self.assertIsNone(reserved, value)
            data = io.BytesIO()
            wire.write_frame(data, {"id": 1, "ok": True, "result": encoded}, out)
            (header_len,) = struct.unpack_from(">I", data.getvalue(), 4)
            json.loads(data.getvalue()[8:8 + header_len], parse_constant=self.fail)  # strict JSON: no NaN or Infinity literal
            header, buffers = wire.read_frame(io.BytesIO(data.getvalue()), 1 << 24)
            self.same(value, values.decode_value(header["result"], buffers))
        self.assertGreater(refused, 5)  # the generator does reach reserved shapes


if __name__ == "__main__":
    unittest.main()
