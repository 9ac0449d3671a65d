// Publish from git in the window: a real hub (`dlhub-hub serve` with its registry), alice's window
// (`dlhub serve --ui` in Debian's Chromium, DLHUB_WORKSPACE naming the test's folder) signed in from Settings. On the Publish screen she gives a
// repository with no dlhub.json at its root and sees the refusal; then a repository made here, at a
// tag, and sees it published with the commit built. Screens captured light and dark, checked with axe.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { requireDocker, testBaseImage } from '../helpers/docker.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { axeProblems, launchChromium, screenshots, startWindowService, type WindowService } from './harness.js';

const HUB_BIN = resolve(import.meta.dirname, '../../bin/dlhub-hub.js');
const NOOP = resolve(import.meta.dirname, '../../examples/noop');
const work = tempDir('dlhub-publish-git-window-');
const hubEnv = { ...process.env, DLHUB_HUB_HOME: join(work.path, 'hub') };
const home = join(work.path, 'alice');
let hubPort = 0;
let hub: ChildProcess | undefined;

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'Alice', GIT_AUTHOR_EMAIL: 'alice@example.org', GIT_COMMITTER_NAME: 'Alice', GIT_COMMITTER_EMAIL: 'alice@example.org' };
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: gitEnv, encoding: 'utf8' }).trim();
}

function commitAll(dir: string, message: string): void {
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', message);
}

describe('Publish from git in the window', () => {
  let alice: WindowService;
  let browser: Browser;
  let page: Page;
  let tagged = '';
  const axe: Record<string, string[]> = {};

  beforeAll(async () => {
    await requireDocker();
    execFileSync(process.execPath, [HUB_BIN, 'users', 'add', 'alice', '--password', 'alice-pw'], { env: hubEnv, stdio: 'ignore' });
    hubPort = await freePort();
    const child = spawn(process.execPath, [HUB_BIN, 'serve', '--port', String(hubPort)], { env: hubEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(`the hub to listen (output: ${out})`, () => out.includes('listening on') || (child.exitCode !== null ? Promise.reject(new Error(out)) : false), { timeoutMs: 60_000 });
    hub = child;

    // A repository made here: the noop example renamed, tagged, then a newer commit on top.
    const repo = join(work.path, 'repo');
    cpSync(NOOP, repo, { recursive: true });
    const file = join(repo, 'dlhub.json');
    const md = JSON.parse(readFileSync(file, 'utf8')) as { dlhub: { name: string; version: string } };
    md.dlhub.name = 'window-git-noop';
    md.dlhub.version = '1.0.0';
    writeFileSync(file, JSON.stringify(md, null, 2));
    git(repo, 'init', '-q', '-b', 'main');
    commitAll(repo, 'first');
    git(repo, 'tag', 'v1');
    tagged = git(repo, 'rev-parse', 'HEAD');
    md.dlhub.version = '2.0.0-dev';
    writeFileSync(file, JSON.stringify(md, null, 2));
    commitAll(repo, 'work in progress');
    const bare = join(work.path, 'bare');
    mkdirSync(bare);
    writeFileSync(join(bare, 'README.md'), 'nothing to serve\n');
    git(bare, 'init', '-q', '-b', 'main');
    commitAll(bare, 'first');

    // The window is a network door: local repositories must lie in a folder the user listed.
    alice = await startWindowService({ DLHUB_HOME: home, DLHUB_BASE_IMAGE: testBaseImage(), DLHUB_RATE_LIMIT: 'off', DLHUB_WORKSPACE: work.path });
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(alice.signIn);
    await page.getByRole('heading', { name: 'Catalog' }).waitFor();
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Settings' }).click();
    const panel = page.getByTestId('hub-settings');
    await panel.getByLabel('Hub address').fill(`http://127.0.0.1:${hubPort}`);
    await panel.getByLabel('User').fill('alice');
    await panel.getByLabel('Password').fill('alice-pw');
    await panel.getByRole('button', { name: 'Sign in' }).click();
    await expect(panel.getByTestId('hub-user').textContent({ timeout: 30_000 })).resolves.toBe('alice');
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await alice?.stop();
    if (hub && hub.exitCode === null) {
      const gone = new Promise((r) => hub?.once('exit', r));
      hub.kill('SIGTERM');
      await gone;
    }
    await runCli(['rm', 'window-git-noop'], { DLHUB_HOME: home }).catch(() => undefined);
    work.remove();
  }, 120_000);

  it('a repository without dlhub.json at its root is refused on the Publish screen, saying why', async () => {
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Publish' }).click();
    const form = page.getByTestId('publish-from-git');
    await form.getByRole('heading', { name: 'Publish from git' }).waitFor();
    await form.getByLabel('Repository').fill(join(work.path, 'bare'));
    await form.getByRole('button', { name: 'Publish from git' }).click();
    const alert = form.getByRole('alert');
    await expect(alert.textContent({ timeout: 60_000 })).resolves.toContain('no dlhub.json at its root');
    await screenshots(page, 'publish-git-refused');
  }, 120_000);

  it('a folder outside the workspace is refused as any path over a network door', async () => {
    const form = page.getByTestId('publish-from-git');
    await form.getByLabel('Repository').fill('/etc');
    await form.getByRole('button', { name: 'Publish from git' }).click();
    await expect(form.getByRole('alert').textContent({ timeout: 60_000 })).resolves.toContain('outside the folders a network caller may use');
  }, 120_000);

  it('a repository at a tag is published; the notice names the commit built', async () => {
    const form = page.getByTestId('publish-from-git');
    await form.getByLabel('Repository').fill(join(work.path, 'repo'));
    await form.getByLabel('Branch, tag or commit').fill('v1');
    await form.getByLabel('Who sees it').selectOption('public');
    axe['publish-git-form'] = await axeProblems(page);
    await screenshots(page, 'publish-git-form');
    await form.getByRole('button', { name: 'Publish from git' }).click();
    const notice = form.getByTestId('publish-git-notice');
    await expect(notice.textContent({ timeout: 480_000 })).resolves.toMatch(new RegExp(`at ${tagged.slice(0, 12)}: Published alice/window-git-noop@1\\.0\\.0\\.`));
    await screenshots(page, 'publish-git-published');
    axe['publish-git-published'] = await axeProblems(page);
    expect(axe).toEqual({ 'publish-git-form': [], 'publish-git-published': [] });
  }, 600_000);
});
