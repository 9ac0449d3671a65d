#!/usr/bin/env node
// `npm start`: the DLHub Desktop window. Electron's window where the Electron binary is installed;
// elsewhere browser mode: the local service serves the same window on 127.0.0.1 and prints a
// one-time sign-in address, which is opened in the system's browser unless BROWSER=none.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (line) => process.stdout.write(`${line}\n`);

/** The Electron binary, when the electron package downloaded one (it cannot on machines without that download). */
function electronBinary() {
  if (process.env.DLHUB_NO_ELECTRON === '1') return undefined;
  try {
    const path = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** Open `url` in a browser: $BROWSER (a command), else the platform's opener; BROWSER=none opens nothing. */
function openBrowser(url) {
  const chosen = process.env.BROWSER;
  if (chosen === 'none') return false;
  const [cmd, args] = chosen
    ? [chosen, [url]]
    : process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => say(`(Could not start "${cmd}" to open a browser: open the address above yourself.)`));
    child.unref();
    return true;
  } catch {
    return false;
  }
}

if (!existsSync(join(root, 'dist', 'renderer', 'index.html')) || !existsSync(join(root, 'dist', 'main', 'cli', 'main.js'))) {
  say('==> building (npm run build)');
  run('npm', ['run', 'build', '--silent']);
}

const electron = electronBinary();
if (electron) {
  say('==> DLHub Desktop: opening the Electron window');
  run('npm', ['run', 'build:electron', '--silent']);
  const child = spawn(electron, [join(root, 'dist', 'electron', 'main.js')], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  say('==> DLHub Desktop in browser mode (Electron is not installed on this machine)');
  const args = [join(root, 'bin', 'dlhub.js'), 'serve', '--ui'];
  if (process.env.DLHUB_UI_ADDRESS) args.push('--http', process.env.DLHUB_UI_ADDRESS);
  const service = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let opened = false;
  const watch = (stream, out) => {
    let buffered = '';
    stream.on('data', (chunk) => {
      out.write(chunk);
      buffered += chunk.toString();
      const m = /http:\/\/[^\s]+\/\?token=[A-Za-z0-9_-]+/.exec(buffered);
      if (m && !opened) {
        opened = true;
        say(`\n    Open DLHub Desktop at: ${m[0]}\n    (the address signs this browser in once; stop with Ctrl-C)\n`);
        if (process.env.BROWSER === 'none') say('    BROWSER=none: no browser opened.');
        else openBrowser(m[0]);
      }
      if (buffered.length > 65536) buffered = buffered.slice(-4096);
    });
  };
  watch(service.stdout, process.stdout);
  watch(service.stderr, process.stderr);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => service.kill(sig));
  service.on('exit', (code) => process.exit(code ?? 0));
}
