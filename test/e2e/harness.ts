// The window's end-to-end harness: the real service (`dlhub serve --ui`, the real engine) on a
// fresh home, Debian's Chromium driven by playwright-core, screenshots (light and dark) written
// to test-results/screenshots/, and an axe check per screen.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';
import { waitFor } from '../helpers/wait.js';

const BIN = resolve(import.meta.dirname, '../../bin/dlhub.js');
/** Where the tests leave their screenshots (named in the README). */
export const SCREENSHOTS = resolve(import.meta.dirname, '../../test-results/screenshots');
/** Debian's Chromium (scripts/setup.sh installs it). */
export const CHROMIUM = process.env['DLHUB_CHROMIUM'] ?? '/usr/bin/chromium';

/** A running `dlhub serve --ui`. */
export interface WindowService {
  base: string;
  signIn: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Start the service with the window on a free loopback port; resolves once it printed its sign-in address. */
export async function startWindowService(env: Record<string, string>, address = '127.0.0.1:0'): Promise<WindowService> {
  const child = spawn(process.execPath, [BIN, 'serve', '--ui', '--http', address, '--grace', '1'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const signIn = await waitFor(`the sign-in address from dlhub serve --ui (output so far: ${text})`, () => {
    if (child.exitCode !== null) throw new Error(`dlhub serve --ui exited ${child.exitCode}:\n${text}`);
    return /(http:\/\/127\.0\.0\.1:\d+)\/\?token=[A-Za-z0-9_-]+/.exec(text)?.[0];
  }, { timeoutMs: 60_000 });
  const base = signIn.slice(0, signIn.indexOf('/?token='));
  return {
    base,
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

/** Headless Chromium (fails, never skips, when it is missing: scripts/setup.sh installs it). */
export async function launchChromium(): Promise<Browser> {
  try {
    return await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  } catch (err) {
    throw new Error(`These tests drive Debian's Chromium at ${CHROMIUM} and it did not start (${err instanceof Error ? err.message : String(err)}). Run scripts/setup.sh (it installs chromium), or set DLHUB_CHROMIUM.`);
  }
}

/** Serious or critical axe violations on the page, as "id: help (n nodes)" lines. */
export async function axeProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.length} nodes: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')})`);
}

/** Screenshots of the page as it is, light and dark: test-results/screenshots/NAME-light.png and NAME-dark.png. */
export async function screenshots(page: Page, name: string): Promise<string[]> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const files: string[] = [];
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    const file = join(SCREENSHOTS, `${name}-${scheme}.png`);
    await page.screenshot({ path: file, fullPage: true });
    files.push(file);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return files;
}
