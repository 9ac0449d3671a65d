import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

// Writes a pure-Python wheel by the wheel format's rules (PEP 427): the package, then its
// .dist-info with METADATA, WHEEL and a RECORD of urlsafe-base64 sha256 hashes; pip installs it
// like any wheel from an index.
const MAKE_WHEEL = `import base64, hashlib, json, sys, zipfile
spec = json.loads(sys.argv[1])
dist, version, module = spec["name"], spec["version"], spec["module"]
stem = dist.replace("-", "_")
info = "%s-%s.dist-info" % (stem, version)
files = {
    module + "/__init__.py": spec["source"],
    info + "/METADATA": "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\nSummary: %s\\n" % (dist, version, spec["summary"]),
    info + "/WHEEL": "Wheel-Version: 1.0\\nGenerator: dlhub-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    info + "/top_level.txt": module + "\\n",
}
record = []
for path, text in files.items():
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
record.append(info + "/RECORD,,")
target = "%s/%s-%s-py3-none-any.whl" % (spec["dir"], stem, version)
with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as whl:
    for path, text in files.items():
        whl.writestr(path, text)
    whl.writestr(info + "/RECORD", "\\n".join(record) + "\\n")
print(target)
`;

/** What makeWheel writes: a distribution of one module whose __init__.py is `source`. */
export interface WheelSpec {
  /** Distribution name, e.g. "dlhub-tiny-units". */
  name: string;
  version: string;
  /** Import name of the one top-level package. */
  module: string;
  source: string;
}

/** Write `<name>-<version>-py3-none-any.whl` into `dir` with Debian's Python; returns its path. */
export function makeWheel(dir: string, spec: WheelSpec): string {
  const out = execFileSync('/usr/bin/python3', ['-c', MAKE_WHEEL, JSON.stringify({ ...spec, dir, summary: `${spec.module} for tests` })], { encoding: 'utf8' });
  return out.trim() || join(dir, `${spec.name.replace(/-/g, '_')}-${spec.version}-py3-none-any.whl`);
}
