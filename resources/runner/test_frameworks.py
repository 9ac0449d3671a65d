"""Runner-side tests of the PyTorch and ONNX loaders, with Debian's torch (python3-torch).

Run with: /usr/bin/python3 -m unittest test_frameworks  (from resources/runner; needs numpy and torch).
Each test writes a servable folder, loads it with the runner and compares its answers with the
model's own, called outside the runner.
"""
import json
import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

import numpy as np
import torch

from dlhub_runner import runner, values

# The small CNN's module (its class Net), the servable's net.py; shared with the framework tests and benches.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "small-cnn", "net.py")) as _f:
    NET_PY = _f.read()


def write_servable(directory, model_file, options=None, resources=None, shape=(None, 1, 28, 28), shim="torch.TorchServable", details=None):
    meta = {
        "dlhub": {"name": "cnn", "files": {"model": model_file, "other": ["net.py"]}},
        "servable": {"type": "Torch Model", "shim": shim, "options": options or {}, "methods": {"run": {
            "input": {"type": "ndarray", "shape": list(shape), "item_type": {"type": "float"}},
            "output": {"type": "ndarray", "shape": [None, 10]},
            "method_details": dict({"method_name": "__call__"}, **(details or {}))}}},
    }
    if resources is not None:
        meta["dlhub"]["resources"] = resources
    with open(os.path.join(directory, "dlhub.json"), "w") as f:
        json.dump(meta, f)


def run(r, value):
    """One run through the runner's own request handling: (ok, result or error)."""
    out = []
    ref = values.encode_value(value, out)
    (response, buffers), _ = r.handle({"id": 1, "op": "run", "method": "run", "input": ref}, [memoryview(bytes(b)) for b in out])
    if not response["ok"]:
        return False, response["error"]
    return True, values.decode_value(response["result"], [memoryview(bytes(b)) for b in buffers])


def hello(r):
    (response, _), _ = r.handle({"id": 0, "op": "hello", "protocol": 1}, [])
    return response


class TorchLoaderTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dlhub-torch-")
        with open(os.path.join(self.dir, "net.py"), "w") as f:
            f.write(NET_PY)
        sys.path.insert(0, self.dir)
        sys.modules.pop("net", None)
        import net  # noqa: E402  (the servable's own module, as the runner imports it)
        torch.manual_seed(0)
        self.model = net.Net().eval()
        # JSON numbers arrive as float64; the model is float32.
        self.x = np.random.RandomState(1).rand(3, 28, 28)

    def tearDown(self):
        sys.path.remove(self.dir)
        sys.modules.pop("net", None)
        shutil.rmtree(self.dir, ignore_errors=True)

    def expected(self, model=None):
        with torch.no_grad():
            return (model or self.model)(torch.as_tensor(self.x, dtype=torch.float32).reshape(-1, 1, 28, 28)).numpy()

    def check_answers(self, r):
        ok, got = run(r, self.x)
        self.assertTrue(ok, got)
        np.testing.assert_array_equal(got, self.expected())
        self.assertEqual(got.dtype.name, "float32")

    def test_whole_module_answers_as_the_model_does_on_float64_input_of_another_shape(self):
        torch.save(self.model, os.path.join(self.dir, "model.pt"))
        write_servable(self.dir, "model.pt")
        r = runner.Runner(self.dir)
        self.check_answers(r)
        self.assertEqual(hello(r)["result"]["framework"], {"name": "torch", "version": torch.__version__.split("+")[0], "device": "cpu"})

    def test_torchscript_file_answers_as_the_model_does(self):
        torch.jit.save(torch.jit.script(self.model), os.path.join(self.dir, "model.pt"))
        write_servable(self.dir, "model.pt")
        self.check_answers(runner.Runner(self.dir))

    def test_state_dict_with_its_class_file_runs(self):
        torch.save(self.model.state_dict(), os.path.join(self.dir, "weights.pt"))
        write_servable(self.dir, "weights.pt", options={"model_class": "net.Net", "model_kwargs": {"classes": 10}})
        self.check_answers(runner.Runner(self.dir))

    def test_checkpoint_dict_holding_a_state_dict_runs(self):
        torch.save({"epoch": 3, "model_state_dict": self.model.state_dict()}, os.path.join(self.dir, "ckpt.pt"))
        write_servable(self.dir, "ckpt.pt", options={"model_class": "net.Net"})
        self.check_answers(runner.Runner(self.dir))

    def test_bare_state_dict_fails_saying_exactly_what_to_provide(self):
        torch.save(self.model.state_dict(), os.path.join(self.dir, "weights.pt"))
        write_servable(self.dir, "weights.pt")
        response = hello(runner.Runner(self.dir))
        self.assertFalse(response["ok"])
        message = response["error"]["message"]
        self.assertEqual(response["error"]["kind"], "load")
        self.assertIn("weights.pt holds a state_dict", message)
        self.assertIn("servable.options.model_class", message)
        self.assertIn("dlhub.files.other", message)

    def test_model_saved_on_a_gpu_loads_on_this_cpu(self):
        # A stand-in for a GPU-saved file: every storage is recorded as on cuda:0, as torch.save writes it on a GPU machine.
        path = os.path.join(self.dir, "model.pt")
        with mock.patch("torch.serialization.location_tag", lambda storage: "cuda:0"):
            torch.save(self.model, path)
        if not torch.cuda.is_available():
            with self.assertRaises(RuntimeError):  # what a plain torch.load does with it here
                torch.load(path, weights_only=False)
        write_servable(self.dir, "model.pt")
        r = runner.Runner(self.dir)
        self.check_answers(r)
        self.assertEqual(hello(r)["result"]["framework"]["device"], "cuda" if torch.cuda.is_available() else "cpu")

    def test_double_model_gets_double_inputs_and_a_declared_dtype_wins(self):
        double = self.model.double()
        torch.save(double, os.path.join(self.dir, "model.pt"))
        write_servable(self.dir, "model.pt")
        ok, got = run(runner.Runner(self.dir), self.x.astype("float32"))
        self.assertTrue(ok, got)
        self.assertEqual(got.dtype.name, "float64")
        write_servable(self.dir, "model.pt", details={"dtype": "float32"})
        ok, got = run(runner.Runner(self.dir), self.x)
        self.assertFalse(ok)  # float32 inputs into a float64 model: the declared dtype was used
        self.assertEqual(got["kind"], "model")

    @unittest.skipIf(torch.cuda.is_available(), "this machine has a GPU")
    def test_gpu_servable_without_a_gpu_fails_unless_the_cpu_is_allowed(self):
        torch.save(self.model, os.path.join(self.dir, "model.pt"))
        write_servable(self.dir, "model.pt", resources={"gpu": True})
        response = hello(runner.Runner(self.dir))
        self.assertFalse(response["ok"])
        self.assertIn("needs a GPU", response["error"]["message"])
        write_servable(self.dir, "model.pt", resources={"gpu": True, "cpu_fallback": True})
        r = runner.Runner(self.dir)
        framework = hello(r)["result"]["framework"]
        self.assertEqual(framework["device"], "cpu")
        self.assertIn("running on the CPU", framework["note"])
        self.check_answers(r)

    def test_onnx_without_onnxruntime_names_it_and_says_debian_lacks_it(self):
        with open(os.path.join(self.dir, "model.onnx"), "wb") as f:
            f.write(b"\x08\x07")
        write_servable(self.dir, "model.onnx", shim="onnx.ONNXServable")
        with mock.patch.dict(sys.modules, {"onnxruntime": None}):
            response = hello(runner.Runner(self.dir))
        self.assertFalse(response["ok"])
        self.assertIn("'onnxruntime'", response["error"]["message"])
        self.assertIn("Debian has no onnxruntime package", response["error"]["message"])


if __name__ == "__main__":
    unittest.main()
