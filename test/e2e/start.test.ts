// `npm start` where Electron cannot start: it says it runs browser mode, prints the one-time
// sign-in address, opens no browser with BROWSER=none, and that address signs a browser in.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/home.js';
import { waitFor } from '../helpers/wait.js';

const START = resolve(import.meta.dirname, '../../scripts/start.mjs');

describe('npm start', () => {
  const work = tempDir('dlhub-start-');
  afterAll(() => work.remove());

  it('falls back to browser mode, says so, prints the sign-in address and opens nothing with BROWSER=none', async () => {
    const child = spawn(process.execPath, [START], {
      env: { ...process.env, DLHUB_HOME: join(work.path, 'home'), BROWSER: 'none', DLHUB_NO_ELECTRON: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = await waitFor(`npm start to print its address (output: ${out})`, () => /Open DLHub Desktop at: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out)?.[1], { timeoutMs: 60_000 });
      expect(out).toContain('DLHub Desktop in browser mode');
      expect(out).toContain('BROWSER=none: no browser opened.');
      const signIn = await fetch(url, { redirect: 'manual' });
      expect(signIn.status).toBe(303);
      expect(signIn.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
    expect(out).toContain('dlhub service stopped.');
  });
});
