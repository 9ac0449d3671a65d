"""Runner-side tests of dlhub_runner.py: values, frames, coercion, batching, and no unpickling of inputs.

Run with: /usr/bin/python3 -m unittest test_runner  (from resources/runner; needs numpy).
"""
import io
import json
import os
import pickle
import shutil
import struct
import tempfile
import unittest
from unittest import mock

import numpy as np

import dlhub_runner as r


def frame(header, buffers=()):
    out = io.BytesIO()
    r.write_frame(out, dict(header), list(buffers))
    return out.getvalue()


def make_servable(directory, methods, code):
    with open(os.path.join(directory, "app.py"), "w") as f:
        f.write(code)
    meta = {"dlhub": {"name": "t"}, "servable": {"type": "Python static method", "shim": "python.PythonStaticMethodServable", "methods": {
        name: {"input": {"type": t}, "output": {"type": "list"}, "method_details": {"module": "app", "method_name": name, "autobatch": auto}}
        for name, (t, auto) in methods.items()}}}
    with open(os.path.join(directory, "dlhub.json"), "w") as f:
        json.dump(meta, f)


class Exploit(object):
    """Unpickling this creates a file: proof that something called pickle.loads."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


class ValuesTest(unittest.TestCase):
    def test_ndarray_round_trip_keeps_dtype_shape_and_bytes(self):
        for dtype in ("float64", "float32", "int64", "uint8", "bool", "float16"):
            a = (np.arange(6) % 2 if dtype == "bool" else np.arange(6)).astype(dtype).reshape(2, 3)
            out = []
            ref = r.encode_value(a, out)
            self.assertEqual(ref, {"$ndarray": {"dtype": dtype, "shape": [2, 3], "buffer": 0}})
            self.assertEqual(bytes(out[0]), a.astype(np.dtype(dtype).newbyteorder("<")).tobytes())
            back = r.decode_value(ref, [memoryview(bytearray(out[0]))])
            np.testing.assert_array_equal(back, a)
            self.assertEqual(back.dtype.name, dtype)

    def test_big_endian_and_non_contiguous_arrays_are_sent_little_endian_c_order(self):
        a = np.arange(12, dtype=">i4").reshape(3, 4).T
        out = []
        ref = r.encode_value(a, out)
        self.assertEqual(ref["$ndarray"]["shape"], [4, 3])
        self.assertEqual(bytes(out[0]), np.ascontiguousarray(a).astype("<i4").tobytes())

    def test_outputs_become_json(self):
        out = []
        value = (np.float32(1.5), np.int64(3), {"t": (1, 2)}, b"raw", float("nan"), np.array(["a", "b"]))
        self.assertEqual(r.encode_value(value, out), [1.5, 3, {"t": [1, 2]}, {"$bytes": {"buffer": 0}}, None, ["a", "b"]])
        self.assertEqual(out, [b"raw"])
        with self.assertRaises(TypeError):
            r.encode_value(object(), [])

    def test_without_numpy_arrays_decode_to_nested_lists(self):
        data = struct.pack("<4d", 1, 2, 3, 4)
        with mock.patch.object(r, "_numpy", lambda: None):
            value = r.decode_value({"$ndarray": {"dtype": "float64", "shape": [2, 2], "buffer": 0}}, [memoryview(data)])
        self.assertEqual(value, [[1.0, 2.0], [3.0, 4.0]])

    def test_bad_references_are_input_errors(self):
        with self.assertRaises(r.RunnerError) as e:
            r.decode_value({"$bytes": {"buffer": 5}}, [b"x"])
        self.assertEqual(e.exception.kind, "input")
        with self.assertRaises(r.RunnerError) as e:
            r.decode_value({"$ndarray": {"dtype": "float64", "shape": [3], "buffer": 0}}, [b"12345678"])
        self.assertIn("needs 24 bytes", e.exception.message)


class FrameTest(unittest.TestCase):
    def test_frame_round_trip_with_buffers(self):
        data = frame({"id": 3, "op": "run"}, [b"ab", memoryview(b"cde")])
        size, header_len = struct.unpack_from(">II", data)
        self.assertEqual(size, len(data) - 4)
        header, buffers = r.read_frame(io.BytesIO(data), 1 << 20)
        self.assertEqual(header, {"id": 3, "op": "run", "buffers": [2, 3]})
        self.assertEqual([bytes(b) for b in buffers], [b"ab", b"cde"])

    def test_oversize_frame_is_a_protocol_error(self):
        data = frame({"id": 1}, [b"x" * 100])
        with self.assertRaises(r.RunnerError) as e:
            r.read_frame(io.BytesIO(data), 50)
        self.assertEqual(e.exception.kind, "protocol")

    def test_clean_end_of_stream(self):
        self.assertIsNone(r.read_frame(io.BytesIO(b""), 100))


class MethodTest(unittest.TestCase):
    def test_ndarray_input_is_coerced_and_lists_pass_through(self):
        seen = []
        as_array = r.Method("m", lambda x: seen.append(type(x)) or 0, "ndarray", False, False)
        as_list = r.Method("m", lambda x: seen.append(type(x)) or 0, "list", False, False)
        as_array.call([[1, 2]], {})
        as_list.call([[1, 2]], {})
        self.assertEqual(seen, [np.ndarray, list])

    def test_array_batch_calls_the_model_once_and_splits_by_rows(self):
        calls = []

        def predict(x):
            calls.append(x.shape)
            return x.sum(axis=1)
        m = r.Method("predict", predict, "ndarray", True, False)
        inputs = [[[1, 2], [3, 4]], [[5, 6]], np.array([[7, 8], [9, 10], [0, 1]])]
        outputs = m.call_batch(inputs, {})
        self.assertEqual(calls, [(6, 2)])
        singles = [m.call(x, {}) for x in inputs]
        self.assertEqual([o.tolist() for o in outputs], [s.tolist() for s in singles])

    def test_batch_falls_back_to_one_call_per_input_when_rows_do_not_line_up(self):
        m = r.Method("total", lambda x: float(np.sum(x)), "ndarray", True, False)
        self.assertEqual(m.call_batch([[1, 2], [3, 4, 5]], {}), [3.0, 12.0])
        self.assertEqual(m.call_batch([[[1]], [[2]]], {}), [1.0, 2.0])  # a scalar output cannot be split by rows

    def test_autobatch_maps_the_function_over_a_list_input(self):
        m = r.Method("f", lambda x, k=1: x * k, "list", False, True)
        self.assertEqual(m.call([1, 2, 3], {"k": 10}), [10, 20, 30])

    def test_model_exception_carries_type_and_traceback(self):
        def boom(x):
            raise KeyError("missing")
        with self.assertRaises(r.RunnerError) as e:
            r.Method("b", boom, "list", False, False).call(1, {})
        self.assertEqual((e.exception.kind, e.exception.type), ("model", "KeyError"))
        self.assertIn("boom", e.exception.tb)


class RunnerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        make_servable(self.dir, {"echo": ("list", False), "fail": ("list", False)},
                      "def echo(x):\n    return x\n\ndef fail(x):\n    raise ValueError('no')\n")
        self.runner = r.Runner(self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def serve(self, requests):
        out = io.BytesIO()
        code = r.serve(self.runner, io.BytesIO(b"".join(frame(h, b) for h, b in requests)), out, 1 << 20)
        stream, responses = io.BytesIO(out.getvalue()), []
        while True:
            got = r.read_frame(stream, 1 << 20)
            if got is None:
                return code, responses
            responses.append(got)

    def test_a_pickled_object_sent_as_bytes_is_never_unpickled(self):
        marker = os.path.join(self.dir, "unpickled")
        payload = pickle.dumps(Exploit(marker))
        code, responses = self.serve([({"id": 1, "op": "run", "method": "echo", "input": {"$bytes": {"buffer": 0}}}, [payload])])
        header, buffers = responses[0]
        self.assertTrue(header["ok"])
        self.assertEqual(bytes(buffers[0]), payload)
        self.assertFalse(os.path.exists(marker))
        # Nothing in the runner unpickles wire data: the only pickle use is the model file loader.
        with open(r.__file__) as f:
            self.assertNotIn("pickle.loads", f.read())

    def test_serves_until_shutdown_and_keeps_going_after_errors(self):
        code, responses = self.serve([
            ({"id": 1, "op": "hello", "protocol": 1}, []),
            ({"id": 2, "op": "run", "method": "fail", "input": 1}, []),
            ({"id": 3, "op": "run", "method": "echo", "input": [1, "a"]}, []),
            ({"id": 4, "op": "bogus"}, []),
            ({"id": 5, "op": "shutdown"}, []),
            ({"id": 6, "op": "hello", "protocol": 1}, []),
        ])
        self.assertEqual(code, 0)
        headers = [h for h, _ in responses]
        self.assertEqual([h["id"] for h in headers], [1, 2, 3, 4, 5])
        self.assertEqual(headers[0]["result"]["methods"], ["echo", "fail"])
        self.assertEqual(headers[1]["error"]["kind"], "model")
        self.assertEqual(headers[2]["result"], [1, "a"])
        self.assertEqual(headers[3]["error"]["kind"], "protocol")

    def test_missing_library_and_unknown_shim_are_load_errors(self):
        for shim, expected in (("keras.KerasServable", "tensorflow"), ("nope.Nope", "not supported")):
            with open(os.path.join(self.dir, "dlhub.json"), "w") as f:
                json.dump({"dlhub": {"name": "k"}, "servable": {"shim": shim, "files": {"model": "app.py"}, "methods": {}}}, f)
            with mock.patch("sys.stderr", io.StringIO()):
                runner = r.Runner(self.dir)
            (header, _), _ = runner.handle({"id": 1, "op": "hello", "protocol": 1}, [])
            self.assertEqual(header["error"]["kind"], "load")
            self.assertIn(expected, header["error"]["message"])


if __name__ == "__main__":
    unittest.main()
