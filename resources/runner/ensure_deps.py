"""Make sure the image provides the Python packages a servable declares (standard library only).

Usage: python3 ensure_deps.py requirements.json
requirements.json is {"python": {"<distribution>": "<version spec or empty>"}, "pip": {...}}. Each
package is checked with importlib.metadata. Missing or mismatched ones are installed with pip only
when the "pip" entry is there (the DLHUB_PIP setting; it says where pip looks: "indexUrl",
"findLinks"); otherwise the build fails naming the package, since the base image must provide it.
Nothing is fetched without the setting.

pip runs with PIP_BREAK_SYSTEM_PACKAGES=1: Debian marks its Python externally managed (PEP 668),
but this image is one servable's and never runs apt again, and pip as root writes to
/usr/local/lib/python3.X/dist-packages, which comes before Debian's own packages on sys.path, so
the pinned version is the one imported while Debian's files stay untouched. A virtual environment
would do the same but every runtime starts the runner with plain "python3".
"""
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import urllib.parse

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
        requirements = json.load(handle)
    wanted = requirements.get("python") or {}
    pip = requirements.get("pip")
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
    if pip is None:
        for name, spec, found in todo:
            print("dlhub: the servable needs Python package %r %s but the base image has it %s and pip is off "
                  "(DLHUB_PIP unset); the base image must provide it (set DLHUB_BASE_IMAGE to an image that has it, "
                  "or add it to resources/base-image/build.sh via DLHUB_BASE_PACKAGES), or set DLHUB_PIP=1 where "
                  "pip can fetch it" % (name, spec or "(any version)", found), file=sys.stderr)
        return 1
    if importlib.util.find_spec("pip") is None:
        for name, spec, found in todo:
            print("dlhub: pip is on (DLHUB_PIP) but the base image has no pip to install Python package %r %s "
                  "(the base image has it %s); use a base with pip (Debian's python3-pip)" % (name, spec or "(any version)", found),
                  file=sys.stderr)
        return 1
    return install(todo, pip)


def pip_command(reqs, pip):
    """pip's command line: the index and links of the setting, and --no-index when only a wheel folder is named."""
    cmd = [sys.executable, "-m", "pip", "install", "--no-cache-dir"]
    if pip.get("indexUrl"):
        cmd += ["--index-url", pip["indexUrl"]]
    elif pip.get("findLinks"):
        cmd += ["--no-index"]
    if pip.get("findLinks"):
        cmd += ["--find-links", pip["findLinks"]]
    # pip ignores an http:// index unless its host is trusted; the setting names it, so it is trusted.
    for url in (pip.get("indexUrl"), pip.get("findLinks")):
        parts = urllib.parse.urlsplit(url or "")
        if parts.scheme == "http" and parts.hostname:
            cmd += ["--trusted-host", parts.hostname if parts.port is None else "%s:%d" % (parts.hostname, parts.port)]
    return cmd + reqs


NOT_FOUND = re.compile(r"Could not find a version that satisfies the requirement (\S+) \(from versions: ([^)]*)\)")
UNREACHABLE = re.compile(r"(Failed to establish a new connection|Connection refused|Name or service not known|"
                         r"Temporary failure in name resolution|Network is unreachable|Max retries exceeded|Could not fetch URL)")


def explain(output, todo, source):
    """One line per pin pip could not satisfy, naming the package, the version and where pip looked."""
    lines = []
    specs = {name.lower().replace("_", "-"): (name, spec) for name, spec, _ in todo}
    for wanted, versions in NOT_FOUND.findall(output):
        name = re.split(r"[=<>!~ ;\[]", wanted, maxsplit=1)[0]
        _, spec = specs.get(name.lower().replace("_", "-"), (name, wanted[len(name):]))
        there = versions.strip() or "none"
        lines.append("dlhub: pip found no %s %s in %s (versions there: %s)" % (name, spec or "(any version)", source, there))
    if not lines and UNREACHABLE.search(output):
        lines.append("dlhub: pip could not reach %s to install %s" % (source, ", ".join(requirement(n, s) for n, s, _ in todo)))
    return lines


def install(todo, pip):
    reqs = [requirement(name, spec) for name, spec, _ in todo]
    source = pip.get("source") or "the package index"
    print("dlhub: pip installs %s from %s" % (" ".join(reqs), source), flush=True)
    env = dict(os.environ, PIP_BREAK_SYSTEM_PACKAGES="1", PIP_ROOT_USER_ACTION="ignore",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    # pip's output goes on to the build log as it comes, and is kept to say afterwards what it lacked.
    proc = subprocess.Popen(pip_command(reqs, pip), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        seen.append(line)
    code = proc.wait()
    sys.stdout.flush()
    if code != 0:
        lines = explain("".join(seen), todo, source)
        if not lines:
            have = "; ".join("%s %s" % (name, found) for name, _, found in todo)
            lines = ["dlhub: pip could not install %s from %s (exit %d); the base image has %s" % (", ".join(reqs), source, code, have)]
        for line in lines:
            print(line, file=sys.stderr)
        return code
    # What pip put there must now satisfy the pins, as a fresh interpreter (the runner) sees them: pip may
    # have made a site folder this process did not have on sys.path when it started.
    probe = ("import importlib.metadata as m, json, sys\n"
             "def v(n):\n    try:\n        return m.version(n)\n    except m.PackageNotFoundError:\n        return None\n"
             "print(json.dumps({n: v(n) for n in sys.argv[1:]}))")
    out = subprocess.run([sys.executable, "-c", probe] + [name for name, _, _ in todo], capture_output=True, text=True, check=False)
    versions = json.loads(out.stdout or "{}")
    for name, spec, _ in todo:
        got = versions.get(name)
        if got is None or not satisfies(got, spec or ""):
            print("dlhub: pip ran but %s is %s, not %s" % (name, got or "still missing", spec), file=sys.stderr)
            return 1
        print("dlhub: %s %s installed by pip" % (name, got))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: ensure_deps.py requirements.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
