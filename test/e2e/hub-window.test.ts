// The hub through the window, end to end: a real hub (`dlhub-hub serve` with its own
// docker-registry behind token auth), two users each with their own DLHUB_HOME and window
// (`dlhub serve --ui` in Debian's Chromium), and a group. Alice's service is started as the Electron
// app starts its engine: its hub token relayed from the parent, which keeps it through safeStorage
// (an object of Electron's SafeStorage type with real encryption, reporting Linux's plain-text
// fallback), so Settings warns. Alice signs in, publishes to her group from the servable's screen
// and at the end of a drop's build, with live progress; Bob signs in, syncs, sees the record with
// the online badge and last sync, searches it, pulls it (live progress) and runs it. Then the hub
// goes down: Alice's publish waits in the outbox, and once the hub is back it lands by itself and
// the window shows it sent. Screens are captured light and dark and checked with axe.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { answerCredentialRelay, CREDENTIAL_RELAY_ENV, keychainCredentialStore, keychainFile, relayInitText } from '../../main/hub/credential-keychain.js';
import { requireDocker, testBaseImage } from '../helpers/docker.js';
import { runCli } from '../helpers/cli.js';
import { fakeSafeStorage } from '../helpers/fake-safe-storage.js';
import { hubWorld } from '../helpers/hub-world.js';
import { waitFor } from '../helpers/wait.js';
import { axeProblems, launchChromium, screenshots, startWindowService, type WindowService } from './harness.js';

const BIN = resolve(import.meta.dirname, '../../bin/dlhub.js');
const NOOP = resolve(import.meta.dirname, '../../examples/noop');

const world = hubWorld('dlhub-hub-window-', ['alice', 'bob']);
const { dir: work, homes, url: hubUrl } = world;
/** Start the hub on its fixed port (a restart comes back at the same address, with the same data). */
const startHub = (): Promise<void> => world.start();
const stopHub = (): Promise<void> => world.stop();

/** The noop example at a version, as a folder. */
function noopFolder(version: string): string {
  const dir = join(work.path, `noop-${version}`);
  cpSync(NOOP, dir, { recursive: true });
  const file = join(dir, 'dlhub.json');
  const md = JSON.parse(readFileSync(file, 'utf8')) as { dlhub: { version: string }; datacite: { version?: string } };
  md.dlhub.version = version;
  md.datacite.version = version;
  writeFileSync(file, JSON.stringify(md, null, 2));
  return dir;
}

/** Drop a folder's files on the window as a real drop event carrying them. */
async function dropFolder(page: Page, dir: string): Promise<void> {
  const files = ['dlhub.json', 'noop.py'].map((name) => ({ name, base64: readFileSync(join(dir, name)).toString('base64') }));
  // Runs in the page (DOM types are not part of this Node project's type-check, so it travels as text).
  await page.evaluate(`(() => {
    const dt = new DataTransfer();
    for (const f of ${JSON.stringify(files)}) dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name));
    const target = document.querySelector('[data-testid="app"]');
    target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  })()`);
}

/**
 * `dlhub serve --ui` started as the Electron app starts its engine: DLHUB_CREDENTIAL_STORE=parent,
 * the credentials on standard input, sign-ins coming back over the IPC channel to a keychain store.
 */
async function startRelayedWindowService(env: Record<string, string>, keychain: ReturnType<typeof keychainCredentialStore>): Promise<WindowService> {
  const child = spawn(process.execPath, [BIN, 'serve', '--ui', '--http', '127.0.0.1:0', '--grace', '1'], {
    env: { ...process.env, ...env, [CREDENTIAL_RELAY_ENV]: 'parent' },
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
  });
  answerCredentialRelay(child, keychain);
  child.stdin?.end(relayInitText(keychain));
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const signIn = await waitFor(`the sign-in address (output so far: ${text})`, () => {
    if (child.exitCode !== null) throw new Error(`dlhub serve --ui exited ${child.exitCode}:\n${text}`);
    return /(http:\/\/127\.0\.0\.1:\d+)\/\?token=[A-Za-z0-9_-]+/.exec(text)?.[0];
  }, { timeoutMs: 60_000 });
  return {
    base: signIn.slice(0, signIn.indexOf('/?token=')),
    signIn,
    child,
    output: () => text,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

describe('the hub in the window: publish, sync, pull and the outbox, two users', () => {
  const safe = fakeSafeStorage({ backend: 'basic_text' });
  const keychain = keychainCredentialStore(join(homes.alice, 'credentials'), safe, 'linux');
  let alice: WindowService;
  let bob: WindowService;
  let browser: Browser;
  let a: Page;
  let b: Page;
  const axe: Record<string, string[]> = {};
  const shots: string[] = [];

  async function capture(page: Page, name: string, opts: { axe?: boolean } = {}): Promise<void> {
    if (opts.axe !== false) axe[name] = await axeProblems(page);
    shots.push(...(await screenshots(page, name)));
  }

  /** Sign in to the hub from Settings. */
  async function hubSignIn(page: Page, user: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Settings' }).click();
    const hubPanel = page.getByTestId('hub-settings');
    await hubPanel.getByLabel('Hub address').fill(hubUrl());
    await hubPanel.getByLabel('User').fill(user);
    await hubPanel.getByLabel('Password').fill(`${user}-pw`);
    await hubPanel.getByRole('button', { name: 'Sign in' }).click();
    await expect(hubPanel.getByTestId('hub-user').textContent({ timeout: 30_000 })).resolves.toBe(user);
  }

  beforeAll(async () => {
    await requireDocker();
    await world.setUp();
    await startHub();
    const common = { DLHUB_BASE_IMAGE: testBaseImage(), DLHUB_RATE_LIMIT: 'off', DLHUB_HUB_DRAIN_SECONDS: '2' };
    const built = await runCli(['build', noopFolder('1.0.0'), '--json'], { ...common, DLHUB_HOME: homes.alice });
    expect(built.code, built.stderr).toBe(0);
    alice = await startRelayedWindowService({ ...common, DLHUB_HOME: homes.alice }, keychain);
    bob = await startWindowService({ ...common, DLHUB_HOME: homes.bob });
    browser = await launchChromium();
    a = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    b = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    await a.goto(alice.signIn);
    await b.goto(bob.signIn);
    await a.getByRole('heading', { name: 'Catalog' }).waitFor();
    await b.getByRole('heading', { name: 'Catalog' }).waitFor();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await alice?.stop();
    await bob?.stop();
    await stopHub();
    for (const home of Object.values(homes)) await runCli(['rm', 'noop'], { DLHUB_HOME: home }).catch(() => undefined);
    work.remove();
  }, 120_000);

  it('Alice signs in from Settings; the token goes through the keychain, and Settings warns that Linux offers only its plain-text fallback', async () => {
    await a.getByTestId('hub-bar').getByText('No hub').waitFor();
    await hubSignIn(a, 'alice');
    const warning = a.getByTestId('credential-warning');
    await expect(warning.textContent()).resolves.toMatch(/plain-text fallback/);
    await expect(a.getByTestId('credential-store').textContent()).resolves.toContain('OS keychain (basic_text)');
    await capture(a, 'hub-settings-keychain-warning');
    // The parent's keychain store holds the token, encrypted in a 0600 file; no plain hub.json.
    const token = keychain.read()?.token ?? '';
    expect(token).toMatch(/^dlh_/);
    const file = keychainFile(join(homes.alice, 'credentials'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file).toString('latin1')).not.toContain(token);
    expect(existsSync(join(homes.alice, 'credentials', 'hub.json'))).toBe(false);
    expect(safe.calls).toContain('encrypt');
    expect(alice.output()).not.toContain(token);
  });

  it('Alice publishes noop to her group from the servable\'s screen, the push\'s progress live', async () => {
    await a.goto(`${alice.base}/#/servable/noop`);
    const panel = a.getByTestId('publish-to-hub');
    await panel.getByText('alice/noop').waitFor();
    await panel.getByLabel('Who sees it').selectOption('group');
    await panel.getByLabel('Group', { exact: true }).fill('lab');
    await capture(a, 'hub-publish-form');
    await panel.getByRole('button', { name: 'Publish to hub' }).click();
    // The live indicator: a bar and what it is doing, while the image goes up.
    const progress = panel.getByTestId('hub-progress');
    await progress.waitFor({ timeout: 30_000 });
    await expect(progress.getByRole('progressbar', { name: 'Publishing noop' }).count()).resolves.toBe(1);
    shots.push(...(await screenshots(a, 'hub-publish-progress')));
    await panel.getByTestId('hub-notice').filter({ hasText: 'Published alice/noop@1.0.0.' }).waitFor({ timeout: 540_000 });
    await expect(progress.count()).resolves.toBe(0);
    await capture(a, 'hub-published');
  }, 600_000);

  it('Bob signs in and syncs: the record with the online badge and the last sync; he finds it and pulls it, the pull\'s progress live; it runs', async () => {
    await hubSignIn(b, 'bob');
    await expect(b.getByTestId('credential-store').textContent()).resolves.toContain('mode 0600');
    await expect(b.getByTestId('credential-warning').count()).resolves.toBe(0);
    // Signing in syncs at once: no "Sync now" needed for the catalog to hold the hub's records.
    await b.getByTestId('hub-notice').filter({ hasText: 'Synced: 1 added or updated, 0 removed.' }).waitFor({ timeout: 60_000 });
    await b.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Catalog' }).click();
    const bar = b.getByTestId('hub-bar');
    await expect(bar.getByTestId('hub-online').textContent()).resolves.toBe('online');
    await bar.getByTestId('hub-last-sync').filter({ hasNotText: 'never' }).waitFor();
    await b.getByLabel('Search servables').fill('noop');
    const hit = b.getByTestId('hits').getByRole('listitem').filter({ hasText: 'alice/noop' });
    await hit.getByText('Catalog record').waitFor();
    await capture(b, 'hub-catalog-synced');
    await hit.getByRole('button', { name: 'Pull' }).click();
    await hit.getByTestId('hub-progress').waitFor({ timeout: 30_000 });
    shots.push(...(await screenshots(b, 'hub-pull-progress')));
    await b.getByTestId('hub-notice').filter({ hasText: 'Pulled alice/noop@1.0.0' }).waitFor({ timeout: 300_000 });
    const here = b.getByTestId('hits').getByRole('listitem').filter({ hasText: 'On this machine' });
    await here.waitFor();
    await capture(b, 'hub-pulled');
    await here.getByRole('link').first().click();
    await expect(b.getByTestId('servable-name').textContent()).resolves.toBe('noop');
    // Pulled from the hub: it is Alice's, so Bob is not offered to publish it as his own.
    await expect(b.getByTestId('from-hub').textContent()).resolves.toBe('From the hub: alice/noop.');
    await b.locator('#input').fill('1');
    await b.getByRole('button', { name: 'Run', exact: true }).click();
    await expect(b.getByText('hello world').first().textContent({ timeout: 120_000 })).resolves.toContain('hello world');
    await capture(b, 'hub-pulled-ran');
  }, 600_000);

  it('Alice publishes at the end of a drop\'s build: the built servable offers Publish to hub', async () => {
    await a.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Publish' }).click();
    await dropFolder(a, noopFolder('1.1.0'));
    await a.getByRole('button', { name: 'Build' }).click({ timeout: 60_000 });
    const after = a.getByTestId('after-build');
    await after.waitFor({ timeout: 300_000 });
    await after.getByLabel('Who sees it').selectOption('group');
    await after.getByLabel('Group', { exact: true }).fill('lab');
    await capture(a, 'hub-publish-after-build');
    await after.getByRole('button', { name: 'Publish to hub' }).click();
    await after.getByTestId('hub-notice').filter({ hasText: 'Published alice/noop@1.1.0.' }).waitFor({ timeout: 300_000 });
    await after.getByRole('button', { name: 'Open noop' }).click();
    await expect(a.getByTestId('servable-name').textContent()).resolves.toBe('noop');
  }, 600_000);

  it('with the hub down, Alice\'s publish waits in the outbox; when the hub is back it lands by itself and the window shows it', async () => {
    await stopHub();
    await a.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Publish' }).click();
    await dropFolder(a, noopFolder('1.2.0'));
    await a.getByRole('button', { name: 'Build' }).click({ timeout: 60_000 });
    const after = a.getByTestId('after-build');
    await after.waitFor({ timeout: 300_000 });
    await after.getByLabel('Who sees it').selectOption('group');
    await after.getByLabel('Group', { exact: true }).fill('lab');
    await after.getByRole('button', { name: 'Publish to hub' }).click();
    await after.getByTestId('hub-notice').filter({ hasText: 'waits in the outbox' }).waitFor({ timeout: 60_000 });

    await a.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Catalog' }).click();
    await expect(a.getByTestId('hub-online').textContent()).resolves.toBe('offline');
    await a.getByTestId('hub-queued').filter({ hasText: '1 waiting in the outbox' }).waitFor();
    await capture(a, 'hub-catalog-offline');
    await a.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Settings' }).click();
    const row = a.getByTestId('hub-outbox').getByTestId('outbox-row').filter({ hasText: 'group:lab' });
    await expect(row.getByTestId('outbox-status').textContent()).resolves.toBe('waiting');
    await capture(a, 'hub-outbox-queued');

    await startHub();
    // No click: the service drains the outbox by itself and the window looks again while work waits.
    await row.getByTestId('outbox-status').filter({ hasText: 'sent' }).waitFor({ timeout: 240_000 });
    await expect(row.textContent()).resolves.toContain('alice/noop@1.2.0');
    await a.getByTestId('hub-notice').filter({ hasText: 'What waited in the outbox has been sent to the hub.' }).waitFor();
    await capture(a, 'hub-outbox-sent');

    // Bob's next sync brings the new versions.
    await b.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Catalog' }).click();
    await b.getByTestId('hub-bar').getByRole('button', { name: 'Sync now' }).click();
    await b.getByTestId('hub-notice').filter({ hasText: /^Synced: [1-9]/ }).waitFor({ timeout: 60_000 });
    await b.getByLabel('All versions').check();
    await b.getByLabel('Search servables').fill('noop');
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) await b.getByTestId('hits').getByText(`v${v}`).first().waitFor();
  }, 600_000);

  it('Bob removes the pulled servable: the hub\'s record stays in his catalog, offered to pull again', async () => {
    // All versions are listed: the pulled 1.0.0 is here (a later sync refiled it, and it is still marked as here).
    const pulled = b.getByTestId('hits').getByRole('listitem').filter({ hasText: 'v1.0.0' });
    await pulled.getByText('On this machine').waitFor();
    const removed = await runCli(['rm', 'noop', '--json'], { DLHUB_HOME: homes.bob });
    expect(removed.code, removed.stderr).toBe(0);
    await b.getByLabel('Search servables').fill('');
    await b.getByLabel('Search servables').fill('noop');
    await pulled.getByText('Catalog record').waitFor();
    await expect(pulled.getByRole('button', { name: 'Pull' }).count()).resolves.toBe(1);
  });

  it('no hub screen has a serious or critical accessibility violation, and no token reached a log', () => {
    expect(axe).toEqual(Object.fromEntries(Object.keys(axe).map((k) => [k, []])));
    const tokens = [keychain.read()?.token ?? 'none', JSON.parse(readFileSync(join(homes.bob, 'credentials', 'hub.json'), 'utf8')).token as string];
    for (const t of tokens) {
      expect(alice.output()).not.toContain(t);
      expect(bob.output()).not.toContain(t);
    }
    console.log(`hub window screenshots:\n${shots.join('\n')}`);
  });
});
