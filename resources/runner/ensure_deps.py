"""Make sure the image provides the Python packages a servable declares (standard library only).

Usage: python3 ensure_deps.py requirements.json
requirements.json is {"python": {"<distribution>": "<version spec or empty>"}}. Each package is
checked with importlib.metadata; missing or mismatched ones are installed with pip when the image
has pip, otherwise the build fails naming the package, since the base image must then provide it.
"""
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys

OPS = ("===", "~=", "==", "!=", ">=", "<=", ">", "<")


def version_key(text):
    """Numeric release tuple of a version string ("1.2.3rc1" -> (1, 2, 3)); good enough for specs."""
    parts = []
    for piece in re.split(r"[.+-]", text.strip().lstrip("vV")):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    return tuple(parts)


def padded(a, b):
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


def satisfies_one(installed, clause):
    """Does one clause such as ">=1.2" or "==1.4.*" accept the installed version?"""
    clause = clause.strip()
    op = next((o for o in OPS if clause.startswith(o)), "==")
    wanted = clause[len(op):].strip() if clause.startswith(op) else clause
    if op == "===":
        return installed == wanted
    if wanted.endswith(".*"):
        prefix = version_key(wanted[:-2])
        same = version_key(installed)[: len(prefix)] == prefix
        return same if op == "==" else not same
    have, want = padded(version_key(installed), version_key(wanted))
    if op == "~=":
        release = version_key(wanted)
        upper = release[:-1] if len(release) > 1 else release
        return have >= want and version_key(installed)[: len(upper)] == upper
    return {
        "==": have == want, "!=": have != want, ">=": have >= want,
        "<=": have <= want, ">": have > want, "<": have < want,
    }[op]


def satisfies(installed, spec):
    if not spec:
        return True
    return all(satisfies_one(installed, c) for c in spec.split(",") if c.strip())


def requirement(name, spec):
    if not spec:
        return name
    return name + (spec if spec.strip()[0] in "=!<>~" else "==" + spec.strip())


def main(path):
    with open(path, encoding="utf-8") as handle:
        wanted = json.load(handle).get("python") or {}
    todo = []
    for name, spec in sorted(wanted.items()):
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed is not None and satisfies(installed, spec or ""):
            print("dlhub: %s %s is present" % (name, installed))
            continue
        found = "not installed" if installed is None else "version %s installed" % installed
        todo.append((name, spec, found))
    if not todo:
        return 0
    if importlib.util.find_spec("pip") is None:
        for name, spec, found in todo:
            print("dlhub: the servable needs Python package %r %s but the base image has it %s and no pip to install it; "
                  "the base image must provide it (set DLHUB_BASE_IMAGE to an image that has it, or add it to "
                  "resources/base-image/build.sh via DLHUB_BASE_PACKAGES)" % (name, spec or "(any version)", found),
                  file=sys.stderr)
        return 1
    reqs = [requirement(name, spec) for name, spec, _ in todo]
    print("dlhub: installing " + " ".join(reqs))
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-cache-dir"] + reqs, check=False)
    if result.returncode != 0:
        have = "; ".join("%s %s" % (name, found) for name, _, found in todo)
        print("dlhub: pip could not install %s (exit %d); the base image has %s" % (", ".join(reqs), result.returncode, have), file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: ensure_deps.py requirements.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
