"""Runner-side tests of the dlhub_runner package: values, frames, coercion, batching, and no unpickling of inputs.

Run with: /usr/bin/python3 -m unittest test_runner  (from resources/runner; needs numpy).
"""
import io
import json
import os
import pickle
import random
import shutil
import struct
import sys
import tempfile
import unittest
from unittest import mock

import numpy as np

import dlhub_runner
from dlhub_runner import main, methods, runner, values, wire
from dlhub_runner.errors import RunnerError


def frame(header, buffers=()):
    out = io.BytesIO()
    wire.write_frame(out, dict(header), list(buffers))
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
            ref = values.encode_value(a, out)
            self.assertEqual(ref, {"$ndarray": {"dtype": dtype, "shape": [2, 3], "buffer": 0}})
            self.assertEqual(bytes(out[0]), a.astype(np.dtype(dtype).newbyteorder("<")).tobytes())
            back = values.decode_value(ref, [memoryview(bytearray(out[0]))])
            np.testing.assert_array_equal(back, a)
            self.assertEqual(back.dtype.name, dtype)

    def test_big_endian_and_non_contiguous_arrays_are_sent_little_endian_c_order(self):
        a = np.arange(12, dtype=">i4").reshape(3, 4).T
        out = []
        ref = values.encode_value(a, out)
        self.assertEqual(ref["$ndarray"]["shape"], [4, 3])
        self.assertEqual(bytes(out[0]), np.ascontiguousarray(a).astype("<i4").tobytes())

    def test_outputs_become_json(self):
        out = []
        value = (np.float32(1.5), np.int64(3), {"t": (1, 2)}, b"raw", np.array(["a", "b"]))
        self.assertEqual(values.encode_value(value, out), [1.5, 3, {"t": [1, 2]}, {"$bytes": {"buffer": 0}}, ["a", "b"]])
        self.assertEqual(out, [b"raw"])
        with self.assertRaises(values.OutputError) as e:
            values.encode_value({"a": [1, object()]}, [])
        self.assertEqual((e.exception.type, e.exception.where()), ("TypeError", "output.a[1]"))

    def test_without_numpy_arrays_decode_to_nested_lists(self):
        data = struct.pack("<4d", 1, 2, 3, 4)
        with mock.patch.object(values, "numpy", lambda: None):
            value = values.decode_value({"$ndarray": {"dtype": "float64", "shape": [2, 2], "buffer": 0}}, [memoryview(data)])
        self.assertEqual(value, [[1.0, 2.0], [3.0, 4.0]])

    def test_bad_references_are_input_errors(self):
        with self.assertRaises(RunnerError) as e:
            values.decode_value({"$bytes": {"buffer": 5}}, [b"x"])
        self.assertEqual(e.exception.kind, "input")
        with self.assertRaises(RunnerError) as e:
            values.decode_value({"$ndarray": {"dtype": "float64", "shape": [3], "buffer": 0}}, [b"12345678"])
        self.assertIn("needs 24 bytes", e.exception.message)


class FrameTest(unittest.TestCase):
    def test_frame_round_trip_with_buffers(self):
        data = frame({"id": 3, "op": "run"}, [b"ab", memoryview(b"cde")])
        size, header_len = struct.unpack_from(">II", data)
        self.assertEqual(size, len(data) - 4)
        header, buffers = wire.read_frame(io.BytesIO(data), 1 << 20)
        self.assertEqual(header, {"id": 3, "op": "run", "buffers": [2, 3]})
        self.assertEqual([bytes(b) for b in buffers], [b"ab", b"cde"])

    def test_oversize_frame_is_a_protocol_error(self):
        data = frame({"id": 1}, [b"x" * 100])
        with self.assertRaises(RunnerError) as e:
            wire.read_frame(io.BytesIO(data), 50)
        self.assertEqual(e.exception.kind, "protocol")

    def test_clean_end_of_stream(self):
        self.assertIsNone(wire.read_frame(io.BytesIO(b""), 100))


class MethodTest(unittest.TestCase):
    def test_ndarray_input_is_coerced_and_lists_pass_through(self):
        seen = []
        as_array = methods.Method("m", lambda x: seen.append(type(x)) or 0, "ndarray", False, False)
        as_list = methods.Method("m", lambda x: seen.append(type(x)) or 0, "list", False, False)
        as_array.call([[1, 2]], {})
        as_list.call([[1, 2]], {})
        self.assertEqual(seen, [np.ndarray, list])

    def test_array_batch_calls_the_model_once_and_splits_by_rows(self):
        calls = []

        def predict(x):
            calls.append(x.shape)
            return x.sum(axis=1)
        m = methods.Method("predict", predict, "ndarray", True, False)
        inputs = [[[1, 2], [3, 4]], [[5, 6]], np.array([[7, 8], [9, 10], [0, 1]])]
        outputs = m.call_batch(inputs, {})
        self.assertEqual(calls, [(6, 2)])
        singles = [m.call(x, {}) for x in inputs]
        self.assertEqual([o.tolist() for o in outputs], [s.tolist() for s in singles])

    def test_batch_falls_back_to_one_call_per_input_when_rows_do_not_line_up(self):
        m = methods.Method("total", lambda x: float(np.sum(x)), "ndarray", True, False)
        self.assertEqual(m.call_batch([[1, 2], [3, 4, 5]], {}), [3.0, 12.0])
        self.assertEqual(m.call_batch([[[1]], [[2]]], {}), [1.0, 2.0])  # a scalar output cannot be split by rows

    def test_autobatch_maps_the_function_over_a_list_input(self):
        m = methods.Method("f", lambda x, k=1: x * k, "list", False, True)
        self.assertEqual(m.call([1, 2, 3], {"k": 10}), [10, 20, 30])

    def test_model_exception_carries_type_and_traceback(self):
        def boom(x):
            raise KeyError("missing")
        with self.assertRaises(RunnerError) as e:
            methods.Method("b", boom, "list", False, False).call(1, {})
        self.assertEqual((e.exception.kind, e.exception.type), ("model", "KeyError"))
        self.assertIn("boom", e.exception.tb)


class RunnerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        make_servable(self.dir, {"echo": ("list", False), "fail": ("list", False)},
                      "def echo(x):\n    return x\n\ndef fail(x):\n    raise ValueError('no')\n")
        self.runner = runner.Runner(self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def serve(self, requests):
        out = io.BytesIO()
        code = main.serve(self.runner, io.BytesIO(b"".join(frame(h, b) for h, b in requests)), out, 1 << 20)
        stream, responses = io.BytesIO(out.getvalue()), []
        while True:
            got = wire.read_frame(stream, 1 << 20)
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
        # Nothing in the runner unpickles wire data: the only pickle use is the model file loaders.
        package = os.path.dirname(dlhub_runner.__file__)
        for folder, _dirs, files in os.walk(package):
            for name in files:
                if name.endswith(".py"):
                    with open(os.path.join(folder, name)) as f:
                        self.assertNotIn("pickle.loads", f.read(), name)

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
                loaded = runner.Runner(self.dir)
            (header, _), _ = loaded.handle({"id": 1, "op": "hello", "protocol": 1}, [])
            self.assertEqual(header["error"]["kind"], "load")
            self.assertIn(expected, header["error"]["message"])


def raw_frame(header_bytes, body_tail=b""):
    """A frame whose header is given as bytes (it need not be valid JSON)."""
    return struct.pack(">II", 4 + len(header_bytes) + len(body_tail), len(header_bytes)) + header_bytes + body_tail


class InferenceTimeTest(unittest.TestCase):
    """The run reply's timing.inference_ms: the model's own time, inside the request's invoke_ms."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        make_servable(self.dir, {"nap": ("list", False), "naps": ("list", True)},
                      "import time\n\ndef nap(x):\n    time.sleep(0.02)\n    return x\n\ndef naps(x):\n    time.sleep(0.02)\n    return x\n")
        sys.modules.pop("app", None)  # another test's app.py may already be imported under that name
        self.runner = runner.Runner(self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir)
        sys.modules.pop("app", None)

    def timing(self, header):
        (reply, _), _ = self.runner.handle(header, [])
        self.assertTrue(reply["ok"], reply)
        return reply["timing"]

    def test_single_batch_and_autobatch_runs_report_the_model_time_within_the_invoke_time(self):
        cases = (
            ({"id": 1, "op": "run", "method": "nap", "input": [1]}, 1),
            ({"id": 2, "op": "run", "method": "nap", "inputs": [[1], [2], [3]], "batch": True}, 3),
            ({"id": 3, "op": "run", "method": "naps", "input": [1, 2]}, 2),
        )
        for header, calls in cases:
            t = self.timing(header)
            # Each model call sleeps 20 ms: the figure counts every call of the request, and no more than the request took.
            self.assertGreaterEqual(t["inference_ms"], 20.0 * calls * 0.9, header)
            self.assertLessEqual(t["inference_ms"], t["invoke_ms"], header)

    def test_each_request_starts_from_zero(self):
        self.timing({"id": 1, "op": "run", "method": "nap", "inputs": [[1], [2], [3], [4]], "batch": True})
        t = self.timing({"id": 2, "op": "run", "method": "nap", "input": [1]})
        self.assertLess(t["inference_ms"], 20.0 * 3)
        self.assertLessEqual(t["inference_ms"], t["invoke_ms"])


class HostileFrameTest(unittest.TestCase):
    """Bad frames fail their own request; the runner answers the next one."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        # Same module as RunnerTest: the runner imports it as "app", which Python caches.
        make_servable(self.dir, {"echo": ("list", False), "fail": ("list", False)},
                      "def echo(x):\n    return x\n\ndef fail(x):\n    raise ValueError('no')\n")
        self.runner = runner.Runner(self.dir)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def serve_bytes(self, data, max_bytes=1 << 20):
        out = io.BytesIO()
        code = main.serve(self.runner, io.BytesIO(data), out, max_bytes)
        stream, responses = io.BytesIO(out.getvalue()), []
        while True:
            got = wire.read_frame(stream, 1 << 30)
            if got is None:
                return code, [h for h, _ in responses]
            responses.append(got)

    def echo(self, rid, value="ok"):
        return frame({"id": rid, "op": "run", "method": "echo", "input": value})

    def test_deeply_nested_input_fails_alone_and_the_next_request_is_served(self):
        deep = b'{"id":1,"op":"run","method":"echo","input":' + b"[" * 1500 + b"]" * 1500 + b"}"
        code, headers = self.serve_bytes(raw_frame(deep) + self.echo(2))
        self.assertEqual(code, 0)
        self.assertEqual([h["id"] for h in headers], [1, 2])
        self.assertFalse(headers[0]["ok"])
        self.assertEqual(headers[0]["error"]["kind"], "input")
        self.assertIn("nested too deeply", headers[0]["error"]["message"])
        self.assertEqual(headers[1]["result"], "ok")

    def test_deep_input_under_the_json_limit_but_deep_for_the_model_fails_alone(self):
        def walk(x):
            return step(x[0]) if isinstance(x, list) and x else 0

        def step(x):  # two frames per level: 900 levels pass the 1,000-frame limit
            return walk(x)
        self.runner.methods["echo"] = methods.Method("echo", walk, "list", False, False)
        deep = b'{"id":1,"op":"run","method":"echo","input":' + b"[" * 900 + b"]" * 900 + b"}"
        code, headers = self.serve_bytes(raw_frame(deep) + self.echo(2, [[1]]))
        self.assertEqual([h["id"] for h in headers], [1, 2])
        self.assertFalse(headers[0]["ok"])
        self.assertTrue(headers[1]["ok"])

    def test_an_output_too_deep_to_send_fails_alone(self):
        def deep(_x):
            v = 1
            for _ in range(5000):
                v = [v]
            return v
        self.runner.methods["echo"] = methods.Method("echo", deep, "list", False, False)
        code, headers = self.serve_bytes(self.echo(1) + frame({"id": 2, "op": "hello", "protocol": 1}))
        self.assertEqual(code, 0)
        self.assertEqual([h["id"] for h in headers], [1, 2])
        self.assertFalse(headers[0]["ok"])
        self.assertIn("RecursionError", headers[0]["error"]["type"])
        self.assertTrue(headers[1]["ok"])

    def test_undecodable_headers_and_bad_buffer_lists_fail_alone(self):
        bad = [
            raw_frame(b'{"id":1,"op":"run",\xff\xfe'),  # not UTF-8, not JSON
            raw_frame(b'{"id":2,"op":"run","buffers":[5]}'),  # a buffer the frame does not carry
            raw_frame(b'{"id":3,"op":"run","buffers":["x"]}'),
            raw_frame(b'{"id":4,"op":"run","buffers":[-1]}', b"abc"),
            raw_frame(b'{"id":5,"op":"run","buffers":7}'),
            raw_frame(b"[1,2]"),
            raw_frame(b'{"id":7,"op":"run","method":["echo"],"input":1}'),
            struct.pack(">II", 8, 100) + b"abcd",  # header length past the frame
        ]
        code, headers = self.serve_bytes(b"".join(bad) + self.echo(9))
        self.assertEqual(code, 0)
        self.assertEqual([h["id"] for h in headers], [1, 2, 3, 4, 5, None, 7, None, 9])
        self.assertTrue(all(not h["ok"] for h in headers[:-1]))
        self.assertEqual(headers[-1]["result"], "ok")

    def test_an_oversize_frame_is_skipped_without_allocating_it(self):
        big = self.echo(1, "x" * 5000)
        code, headers = self.serve_bytes(big + self.echo(2), max_bytes=1000)
        self.assertEqual([h["id"] for h in headers], [1, 2])
        self.assertIn("outside 4..1000", headers[0]["error"]["message"])
        self.assertTrue(headers[1]["ok"])
        # A 4 GB length prefix with nothing behind it: a clean end, no 4 GB buffer.
        code, headers = self.serve_bytes(struct.pack(">I", 0xFFFFFFFF) + b"{}")
        self.assertEqual((code, headers), (0, []))

    def test_fuzzed_frames_each_get_one_answer_and_the_runner_keeps_serving(self):
        rng = random.Random(9)
        pieces, expected = [], []
        for i in range(1, 400):
            kind = rng.randrange(5)
            if kind == 0:  # a valid request
                pieces.append(self.echo(i, [i, "v"]))
                expected.append((i, True))
                continue
            if kind == 1:  # random bytes as the body
                body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 60)))
                pieces.append(struct.pack(">I", len(body)) + body)
            elif kind == 2:  # a valid header with random bytes flipped
                data = bytearray(self.echo(i, {"k": [1, 2, {"z": None}]}))
                for _ in range(rng.randrange(1, 4)):
                    data[rng.randrange(8, len(data))] = rng.randrange(256)
                pieces.append(bytes(data))
            elif kind == 3:  # random nesting of lists and objects, some very deep
                depth = rng.choice([1, 10, 500, 999, 1001, 3000])
                opener = [rng.choice([b"[", b'{"a":']) for _ in range(depth)]
                closer = [b"]" if o == b"[" else b"}" for o in reversed(opener)]
                pieces.append(raw_frame(b'{"id":%d,"op":"run","method":"echo","input":' % i + b"".join(opener) + b"1" + b"".join(closer) + b"}"))
            else:  # a wrong buffer list
                lengths = [rng.randrange(-3, 50) for _ in range(rng.randrange(0, 4))]
                tail = bytes(rng.randrange(0, 40))
                pieces.append(raw_frame(json.dumps({"id": i, "op": "run", "method": "echo", "input": 1, "buffers": lengths}).encode(), tail))
            expected.append((i, None))
        pieces.append(self.echo(1000))
        expected.append((1000, True))
        code, headers = self.serve_bytes(b"".join(pieces))
        self.assertEqual(code, 0)
        self.assertEqual(len(headers), len(expected))  # one answer per frame, nothing lost, no crash
        for header, (rid, ok) in zip(headers, expected):
            if ok:
                self.assertEqual((header["id"], header["ok"]), (rid, True))
            else:
                self.assertIn(header["id"], (rid, None, header.get("id")))
                self.assertIn("ok", header)


if __name__ == "__main__":
    unittest.main()
