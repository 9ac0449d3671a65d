// The catalog screen never shows a version that is gone: a person looks at the catalog, goes to
// another screen while a newer version lands in the catalog (`dlhub catalog import`, as a build or
// publish does), comes back and sees the newer one; a change made while the catalog is shown
// appears once the window has the focus again.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { launchChromium, screenshots, startWindowService, type WindowService } from './harness.js';

/** A catalog record of servable `fresh` at `version` (as `dlhub catalog import` reads them). */
function writeRecord(file: string, version: string): string {
  writeFileSync(file, `${JSON.stringify({
    datacite: { titles: [{ title: 'Fresh model' }], creators: [{ creatorName: 'Doe, Jane' }], descriptions: [{ description: `Version ${version}.`, descriptionType: 'Abstract' }] },
    dlhub: { name: 'fresh', version, domains: ['testing'], files: {}, dependencies: { python: {} } },
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', deterministic: true, methods: { run: { description: 'Answers its input', input: { type: 'float' }, output: { type: 'float' }, method_details: { module: 'app', method_name: 'run', autobatch: false } } } },
  })}\n`);
  return file;
}

describe('the catalog searches again when it is shown', () => {
  const work = tempDir('dlhub-e2e-fresh-');
  const env = { DLHUB_HOME: join(work.path, 'home'), DLHUB_RATE_LIMIT: 'off' };
  let service: WindowService;
  let browser: Browser;
  let page: Page;

  async function importVersion(version: string): Promise<void> {
    const r = await runCli(['catalog', 'import', writeRecord(join(work.path, `fresh-${version}.jsonl`), version)], env);
    expect(r.stdout, r.stderr).toMatch(/^Imported 1 record/);
  }

  beforeAll(async () => {
    await importVersion('1.0.0');
    service = await startWindowService(env);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 760 }, colorScheme: 'light' })).newPage();
    await page.goto(service.signIn);
    await page.getByRole('heading', { name: 'Catalog' }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    work.remove();
  });

  it('coming back to Catalog shows the newer version; a change made meanwhile shows when the window has the focus again', async () => {
    const hits = page.getByTestId('hits');
    await hits.getByText('v1.0.0').waitFor();
    const nav = page.getByRole('navigation', { name: 'Screens' });
    await nav.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('heading', { name: 'Catalog' }).waitFor({ state: 'detached' });
    await importVersion('1.1.0');
    await nav.getByRole('link', { name: 'Catalog' }).click();
    await hits.getByText('v1.1.0').waitFor();
    await expect(hits.getByRole('listitem').count()).resolves.toBe(1);

    await importVersion('1.2.0');
    await page.evaluate('window.dispatchEvent(new Event("focus"))');
    await hits.getByText('v1.2.0').waitFor();
    await expect(hits.getByRole('listitem').count()).resolves.toBe(1);
    await screenshots(page, 'catalog-fresh');
  }, 90_000);
});
