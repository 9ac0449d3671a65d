import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { json, runCli, tempDir } from '../helpers/cli.js';

const work = tempDir('dlhub-runtimes-cli-');
afterAll(() => work.cleanup());

describe('dlhub runtimes', () => {
  it('lists docker as unavailable with the reason when no engine answers, and host with its Python version', async () => {
    const env = { DLHUB_HOME: join(work.dir, 'home'), DOCKER_HOST: `unix://${join(work.dir, 'none.sock')}`, DLHUB_PYTHON: '/usr/bin/python3' };
    const text = await runCli(['runtimes'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^docker\s+no\s+The Docker engine is not answering/m);
    expect(text.stdout).toMatch(/^host\s+yes\s+Python 3\.\d+\.\d+ \(\/usr\/bin\/python3/m);

    const rows = json<{ name: string; available: boolean; reason?: string; version?: string }[]>(await runCli(['runtimes', '--json'], env));
    expect(rows.filter((r) => r.name === 'docker' || r.name === 'host').map((r) => [r.name, r.available])).toEqual([['docker', false], ['host', true]]);
    expect(rows.find((r) => r.name === 'docker')?.reason).toContain('DOCKER_HOST');
  });
});
