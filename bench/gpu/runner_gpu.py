"""The runner's PyTorch loader on a GPU, run directly: python3 and torch (with numpy) only.

For a small CNN on 28x28 inputs (the one test/integration/frameworks.test.ts builds), saved three
ways -- a whole module saved on the CPU, a whole module saved on the GPU, a TorchScript file saved
on the GPU -- it loads each through resources/runner/dlhub_runner (the code a worker runs), checks
the answers against the model's own on the same device, and times warm calls (numpy in, numpy out:
what a worker does per call) beside the model's own forward pass on tensors already on the device.
On a machine without CUDA it says so, runs the CPU part, and checks that a GPU-only servable is
refused and that one allowing the CPU falls back to it.

Usage: python3 bench/gpu/runner_gpu.py [--calls N] [--json FILE]
Exit status: 0 when every answer matched, 1 otherwise.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.normpath(os.path.join(HERE, "..", "..", "resources", "runner"))

# The small CNN's module (its class Net), each servable's net.py.
with open(os.path.join(HERE, "..", "..", "test", "fixtures", "small-cnn", "net.py")) as _f:
    NET = _f.read()


def metadata(name, resources=None):
    """dlhub.json as `dlhub init` writes it for the CNN's model.pt."""
    dlhub = {"name": name, "version": "1", "files": {"model": "model.pt", "other": ["net.py"]}}
    if resources:
        dlhub["resources"] = resources
    return {
        "datacite": {"titles": [{"title": name}], "creators": [{"creatorName": "Bench"}]},
        "dlhub": dlhub,
        "servable": {
            "type": "Torch Model", "shim": "torch.TorchServable",
            "methods": {"run": {"input": {"type": "ndarray", "shape": [None, 1, 28, 28]},
                                "output": {"type": "ndarray", "shape": [None, 10]}, "method_details": {}}},
        },
    }


def servable_folder(root, name, save, resources=None):
    """A servable folder holding net.py, dlhub.json and the model file `save(path)` writes."""
    folder = os.path.join(root, name)
    os.makedirs(folder)
    with open(os.path.join(folder, "net.py"), "w") as f:
        f.write(NET)
    with open(os.path.join(folder, "dlhub.json"), "w") as f:
        json.dump(metadata(name, resources), f)
    save(os.path.join(folder, "model.pt"))
    return folder


def load_through_runner(folder):
    """The servable's methods as a worker loads them (dlhub_runner.loaders.load_methods)."""
    from dlhub_runner.loaders import load_methods
    with open(os.path.join(folder, "dlhub.json")) as f:
        meta = json.load(f)
    # Each servable imports its own net.py: forget the previous one's.
    sys.modules.pop("net", None)
    return load_methods(meta, folder)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(fn, calls, sync):
    """Milliseconds of `calls` warm calls of fn (after 5 warm-up calls), synchronising the device each time."""
    for _ in range(5):
        fn()
    sync()
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        sync()
        out.append((time.perf_counter() - start) * 1000)
    return {"median_ms": statistics.median(out), "p95_ms": percentile(out, 0.95)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200, help="timed warm calls per case and batch size")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    try:
        import numpy as np
        import torch
    except ImportError as e:
        print("this script needs torch and numpy in this Python (%s): %s" % (sys.executable, e), file=sys.stderr)
        return 2
    sys.path.insert(0, RUNNER)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    gpu = torch.cuda.get_device_name(0) if cuda else None
    print("python %s, torch %s, numpy %s" % (sys.version.split()[0], torch.__version__, np.__version__))
    print("CUDA: %s" % ("yes, %s (CUDA %s)" % (gpu, torch.version.cuda) if cuda else "no CUDA device here: the GPU cases are skipped, the CPU fallback is checked"))

    work = tempfile.mkdtemp(prefix="dlhub-gpu-")
    sys.path.insert(0, work)
    with open(os.path.join(work, "net.py"), "w") as f:
        f.write(NET)
    import net  # noqa: E402  (the model class, importable as the servable will import it)
    torch.manual_seed(0)
    model = net.Net().eval()
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    # (case, how it is saved, the device DLHUB_DEVICE forces or None for the runner's own choice)
    cases = [("saved-on-cpu", lambda p: torch.save(model, p), None)]
    if cuda:
        gpu_model = net.Net().eval()
        gpu_model.load_state_dict(model.state_dict())
        gpu_model = gpu_model.cuda()
        cases.append(("saved-on-gpu", lambda p: torch.save(gpu_model, p), None))
        cases.append(("torchscript-on-gpu", lambda p: torch.jit.save(torch.jit.script(gpu_model), p), None))
        # A model saved on the GPU, loaded where only the CPU is wanted (map_location).
        cases.append(("gpu-saved-on-cpu", lambda p: torch.save(gpu_model, p), "cpu"))

    # Every file is written before the runner imports any net.py (pickling needs this net.Net).
    folders = [(case, servable_folder(work, case, save), forced) for case, save, forced in cases]
    only = servable_folder(work, "gpu-only", lambda p: torch.save(model, p), {"gpu": True})
    fallback = servable_folder(work, "gpu-or-cpu", lambda p: torch.save(model, p), {"gpu": True, "cpu_fallback": True})
    references = {}
    for d in {device, "cpu"}:
        references[d] = net.Net().eval()
        references[d].load_state_dict(model.state_dict())
        references[d] = references[d].to(d)
    results, failures = [], []
    rng = np.random.RandomState(1)
    for case, folder, forced in folders:
        if forced:
            os.environ["DLHUB_DEVICE"] = forced
        try:
            methods = load_through_runner(folder)
        finally:
            os.environ.pop("DLHUB_DEVICE", None)
        run = methods["run"]
        framework = dict(methods.framework or {})
        on = forced or device
        reference = references[on]
        case_sync = sync if on == "cuda" else (lambda: None)
        if framework.get("device") != on:
            failures.append("%s: the runner chose device %r, expected %r" % (case, framework.get("device"), on))
        for batch in (1, 64):
            x = rng.rand(batch, 1, 28, 28)  # float64, as JSON numbers arrive
            got = run.call(x, {})
            with torch.no_grad():
                want = reference(torch.as_tensor(x, dtype=torch.float32, device=on)).cpu().numpy()
            diff = float(np.max(np.abs(np.asarray(got) - want)))
            if not np.asarray(got).shape == want.shape or diff > 1e-4:
                failures.append("%s batch %d: answers differ from the model's own (max |diff| %.3g)" % (case, batch, diff))
            xt = torch.as_tensor(x, dtype=torch.float32, device=on)

            def own():
                with torch.no_grad():
                    reference(xt)
            through = timed(lambda: run.call(x, {}), args.calls, case_sync)
            forward = timed(own, args.calls, case_sync)
            row = {"case": case, "device": framework.get("device"), "batch": batch, "max_abs_diff": diff,
                   "runner_median_ms": through["median_ms"], "runner_p95_ms": through["p95_ms"],
                   "forward_median_ms": forward["median_ms"], "forward_p95_ms": forward["p95_ms"],
                   "overhead_median_ms": through["median_ms"] - forward["median_ms"]}
            results.append(row)

    # Declared resources: a GPU-only servable and one that allows the CPU.
    checks = []
    from dlhub_runner.errors import RunnerError
    try:
        m = load_through_runner(only)
        checks.append("gpu-only servable loads on %s" % m.framework.get("device"))
        if not cuda:
            failures.append("a GPU-only servable loaded on a machine without CUDA")
    except RunnerError as e:
        checks.append("gpu-only servable refused: %s" % e)
        if cuda:
            failures.append("a GPU-only servable was refused on a machine with CUDA: %s" % e)
    m = load_through_runner(fallback)
    checks.append("gpu servable allowing the CPU runs on %s%s" % (m.framework.get("device"), "; note: " + m.framework["note"] if m.framework.get("note") else ""))
    if m.framework.get("device") != device:
        failures.append("the CPU-fallback servable ran on %r, not %r" % (m.framework.get("device"), device))

    print()
    print("%-20s %-5s %5s %12s %12s %12s %12s %10s" % ("case", "dev", "batch", "runner med", "runner p95", "forward med", "overhead", "max|diff|"))
    for r in results:
        print("%-20s %-5s %5d %9.3f ms %9.3f ms %9.3f ms %9.3f ms %10.2g" % (
            r["case"], r["device"], r["batch"], r["runner_median_ms"], r["runner_p95_ms"], r["forward_median_ms"], r["overhead_median_ms"], r["max_abs_diff"]))
    for c in checks:
        print(c)
    summary = {"python": sys.version.split()[0], "torch": torch.__version__, "cuda": cuda, "gpu": gpu, "calls": args.calls,
               "results": results, "checks": checks, "failures": failures}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    for f in failures:
        print("FAILED: " + f, file=sys.stderr)
    print("all answers match the model's own" if not failures else "%d check(s) failed" % len(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
