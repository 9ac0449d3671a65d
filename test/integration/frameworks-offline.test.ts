/**
 * A user with a .pt file on a machine with no network: every command runs in its own empty network
 * namespace (`unshare -n`: no interface but loopback; Docker is reached through its Unix socket).
 * init, build and run give the model's own answers; fit and doctor answer too. The framework base
 * image is the one other suites build (or this one builds first, with the network, as setup would).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, outcome, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { homeWorkerContainers, requireDocker, testBaseImage } from '../helpers/docker.js';

const BIN = resolve(import.meta.dirname, '../../bin/dlhub.js');
const NET = `import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 13 * 13, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))
`;
const MAKE = `import json, sys, numpy as np, torch
sys.path.insert(0, sys.argv[1])
import net
torch.manual_seed(3)
m = net.Net().eval()
torch.save(m, sys.argv[1] + "/model.pt")
x = np.random.RandomState(2).rand(2, 1, 28, 28).round(3)
with torch.no_grad():
    y = m(torch.as_tensor(x, dtype=torch.float32)).numpy()
json.dump({"input": x.tolist(), "output": y.astype("float64").tolist()}, open(sys.argv[2], "w"))
`;

let tmp: { dir: string; cleanup: () => void };
let env: Record<string, string>;
let expected: { input: unknown; output: number[][] };

/** `dlhub ARGS` in a network namespace of its own (no network at all). */
function offline(args: string[]): Promise<CliResult> {
  return outcome(spawn('unshare', ['-n', process.execPath, BIN, ...args], { env: { ...process.env, DLHUB_NO_SERVICE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

beforeAll(async () => {
  await requireDocker();
  const probe = spawnSync('unshare', ['-n', 'true']);
  if (probe.status !== 0) throw new Error(`This suite needs \`unshare -n\` (root, util-linux) to take the network away: ${probe.stderr.toString().trim()}`);
  tmp = tempDir('dlhub-offline-');
  env = { DLHUB_HOME: join(tmp.dir, 'home'), DLHUB_BASE_IMAGE: testBaseImage() };
  for (const d of ['cnn', 'setup']) {
    mkdirSync(join(tmp.dir, d));
    writeFileSync(join(tmp.dir, d, 'net.py'), NET);
    execFileSync('/usr/bin/python3', ['-c', MAKE, join(tmp.dir, d), join(tmp.dir, `${d}.json`)], { stdio: 'inherit' });
  }
  expected = JSON.parse(readFileSync(join(tmp.dir, 'cnn.json'), 'utf8')) as typeof expected;
  // The framework base comes from the Debian mirror once, as setup would fetch it (another servable's
  // build makes it when no other suite has); everything the test checks runs offline.
  expect((await runCli(['init', join(tmp.dir, 'setup'), '--name', 'setup-cnn'], env)).code).toBe(0);
  const setup = await runCli(['build', join(tmp.dir, 'setup')], env);
  expect(setup.code, setup.stderr).toBe(0);
}, 1_800_000);

afterAll(async () => {
  if (!tmp) return;
  for (const name of ['cnn', 'setup-cnn']) await runCli(['rm', name], env);
  for (const id of homeWorkerContainers(env['DLHUB_HOME'] ?? '')) spawnSync('docker', ['rm', '-f', id]);
  tmp.cleanup();
});

describe('a .pt file on a machine with no network', () => {
  it('init, build and run give the model\'s own answers on Docker and on the host; fit and doctor answer', async () => {
    const reach = spawnSync('unshare', ['-n', '/usr/bin/python3', '-c', 'import socket; socket.create_connection(("172.17.0.1", 80), timeout=2)'], { encoding: 'utf8' });
    expect(reach.stderr).toContain('Network is unreachable');
    const init = await offline(['init', join(tmp.dir, 'cnn'), '--title', 'Digits CNN', '--creator', 'Doe, Jane', '--description', 'A small CNN']);
    expect(init.code, init.stderr).toBe(0);
    const built = await offline(['build', join(tmp.dir, 'cnn')]);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stderr).toMatch(/Framework base dlhub-framework-base:\S+ \(cached\) adds python3-torch/);
    writeFileSync(join(tmp.dir, 'input.json'), JSON.stringify(expected.input));
    for (const runtime of ['docker', 'host']) {
      const r = await offline(['run', 'cnn', '--input-file', join(tmp.dir, 'input.json'), '--runtime', runtime, '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const rows = json(r)['output'] as number[][];
      rows.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected.output[i]?.[j] ?? NaN, 5)));
    }
    const fit = await offline(['fit', 'cnn', '--json']);
    expect(json(fit)).toMatchObject({ name: 'cnn', fits: true, device: 'cpu', reasons: [] });
    const doctor = json(await offline(['doctor', '--json']));
    expect(doctor['runtimes']).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'docker', available: true }), expect.objectContaining({ name: 'host', available: true })]));
    expect(doctor['gpus']).toEqual(spawnSync('nvidia-smi', ['-L']).status === 0 ? expect.any(Array) : []);
  }, 900_000);
});
