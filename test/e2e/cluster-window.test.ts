// Clusters and hardware fit in the window, end to end: the real service (`dlhub serve --ui`), a real
// single-node Slurm on this machine (test/helpers/slurm.ts), Debian's Chromium. A person reads what
// this machine offers in Settings, adds a cluster there (and removes a spare one), sends a batch from
// a servable's screen to the cluster, watches its chunks' progress live in Tasks, reads the answers
// in order (a failing input's error in its place), and sees in the catalog that a GPU-only servable
// does not fit this machine. Screens are captured light and dark and checked with axe.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { json, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/home.js';
import { startSlurm, type TestSlurm } from '../helpers/slurm.js';
import { waitFor } from '../helpers/wait.js';
import { axeProblems, launchChromium, screenshots, startWindowService, type WindowService } from './harness.js';

const APP = `
import time

def double(x):
    """Twice x; a negative x raises; {"s": seconds} sleeps that long, then answers it."""
    if isinstance(x, dict):
        time.sleep(x["s"])
        return x["s"]
    if x < 0:
        raise ValueError("negative input: %r" % (x,))
    return x * 2
`;

/** A host-runtime function servable: `run` doubles a number (`gpu` declares that it needs a GPU). */
function writeDoubler(dir: string, name = 'doubler', resources?: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'app.py'), APP);
  writeFileSync(join(dir, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: 'Doubler' }], creators: [{ creatorName: 'Doe, Jane' }], descriptions: [{ description: 'Doubles a number; a negative one is refused.', descriptionType: 'Abstract' }] },
    dlhub: { name, version: '1.0.0', domains: ['testing'], files: { other: ['app.py'] }, dependencies: { python: {} }, ...(resources ? { resources } : {}) },
    servable: {
      type: 'Python static method', shim: 'python.PythonStaticMethodServable', deterministic: true,
      methods: { run: { description: 'Twice the number', input: { type: 'python object', description: 'A number' }, output: { type: 'python object' }, method_details: { module: 'app', method_name: 'double', autobatch: false } } },
    },
  }));
  return dir;
}

/** A catalog record (as `dlhub catalog import` reads them) of a servable that needs a GPU and cannot fall back to the CPU. */
function writeGpuRecord(file: string): string {
  writeFileSync(file, `${JSON.stringify({
    datacite: { titles: [{ title: 'Galaxy morphology (GPU)' }], creators: [{ creatorName: 'Roe, Sam' }], descriptions: [{ description: 'A large CNN that needs a CUDA GPU.', descriptionType: 'Abstract' }] },
    dlhub: { name: 'galaxy-gpu', owner: 'astro', version: '2.0.0', domains: ['astronomy'], files: { model: 'model.pt' }, dependencies: { python: { torch: '1.13' } }, resources: { gpu: true, gpu_memory_gb: 8 } },
    servable: { type: 'Torch model', shim: 'torch.TorchServable', deterministic: true, methods: { run: { input: { type: 'ndarray', shape: [null, 3, 64, 64] }, output: { type: 'ndarray', shape: [null, 5] }, method_details: {} } } },
  })}\n`);
  return file;
}

/** `n` catalog records of small function servables (a long result list). */
function writeManyRecords(file: string, n: number): string {
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({
    datacite: { titles: [{ title: `Spectrum fitter ${i}` }], creators: [{ creatorName: 'Poe, Ann' }], descriptions: [{ description: 'Fits a spectrum.', descriptionType: 'Abstract' }] },
    dlhub: { name: `spectrum-${i}`, owner: 'lab', version: '1.0.0', domains: ['spectroscopy'], files: { other: ['app.py'] }, dependencies: { python: {} } },
    servable: { type: 'Python static method', shim: 'python.PythonStaticMethodServable', deterministic: true, methods: { run: { input: { type: 'list', item_type: { type: 'float' } }, output: { type: 'list', item_type: { type: 'float' } }, method_details: { module: 'app', method_name: 'fit' } } } },
  }));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('clusters and hardware fit in the window', () => {
  const work = tempDir('dlhub-cluster-window-');
  const home = join(work.path, 'home');
  let env: Record<string, string>;
  let slurm: TestSlurm;
  let service: WindowService;
  let browser: Browser;
  let page: Page;
  const shots: string[] = [];
  const axe: Record<string, string[]> = {};

  /** Screenshots and the axe check of the screen as it is now. */
  async function capture(name: string): Promise<void> {
    // Screenshots first: a live screen (a batch's progress) moves on while axe reads it.
    shots.push(...(await screenshots(page, name)));
    axe[name] = await axeProblems(page);
  }

  beforeAll(async () => {
    slurm = await startSlurm(join(work.path, 'slurm'));
    env = { DLHUB_HOME: home, DLHUB_PYTHON: '/usr/bin/python3', DLHUB_RATE_LIMIT: 'off', ...slurm.env };
    const built = await runCli(['build', writeDoubler(join(work.path, 'doubler')), '--runtime', 'host', '--json'], env);
    expect(built.code, built.stderr).toBe(0);
    const gpuBuilt = await runCli(['build', writeDoubler(join(work.path, 'doubler-gpu'), 'doubler-gpu', { gpu: true }), '--runtime', 'host', '--json'], env);
    expect(gpuBuilt.code, gpuBuilt.stderr).toBe(0);
    const imported = await runCli(['catalog', 'import', writeGpuRecord(join(work.path, 'gpu.jsonl'))], env);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^Imported 1 record/);
    const many = await runCli(['catalog', 'import', writeManyRecords(join(work.path, 'many.jsonl'), 40)], env);
    expect(many.stdout, many.stderr).toMatch(/^Imported 40 record/);
    service = await startWindowService(env);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' })).newPage();
    await page.goto(service.signIn);
    await page.getByRole('heading', { name: 'Catalog' }).waitFor();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await slurm?.stop();
    work.remove();
  });

  it('settings: this machine as doctor finds it; a cluster added (answering, its partition), a spare one removed', async () => {
    const doctor = json<{ cpus: number; gpus: unknown[] }>(await runCli(['doctor', '--json'], env));
    await page.goto(`${service.base}/#/settings`);
    await expect(page.getByTestId('doctor-cpus').textContent()).resolves.toBe(String(doctor.cpus));
    await expect(page.getByTestId('doctor-gpus').textContent()).resolves.toMatch(doctor.gpus.length === 0 ? /^None/ : /^0: /);
    await page.getByTestId('no-clusters').waitFor();

    // Asked without a name, the form says what to fix before anything is sent.
    await page.locator('#cluster-gpus').fill('two');
    await page.locator('#cluster-name').fill('local');
    await page.getByRole('button', { name: 'Add cluster' }).click();
    await page.getByText('GPUs per pilot is a whole number from 0 to 64.').waitFor();
    await page.locator('#cluster-gpus').fill('');
    await page.locator('#cluster-time').fill('10');
    await page.getByRole('button', { name: 'Add cluster' }).click();
    const row = page.getByTestId('cluster-local');
    await row.getByText('answers', { exact: true }).waitFor({ timeout: 30_000 });
    await expect(row.getByTestId('cluster-state').textContent()).resolves.toMatch(/^Answers.*partition debug \(default\); 1 node, no GPUs\.$/);
    await expect(row.textContent()).resolves.toContain('time 10');

    await page.locator('#cluster-name').fill('spare');
    await page.getByRole('button', { name: 'Add cluster' }).click();
    await page.getByTestId('cluster-spare').waitFor();
    await capture('settings-clusters');
    await page.getByRole('button', { name: 'Remove cluster spare' }).click();
    await page.getByText('Removed cluster spare.').waitFor();
    await expect(page.getByTestId('cluster-spare').count()).resolves.toBe(0);
    const listed = json<{ cluster: { name: string; time?: string } }[]>(await runCli(['cluster', 'ls', '--json'], env));
    expect(listed.map((l) => [l.cluster.name, l.cluster.time])).toEqual([['local', '10']]);
  }, 90_000);

  it('a batch from the servable\'s screen runs on the cluster: chunk progress live in Tasks, the answers in order', async () => {
    // Slow inputs (half a second each) keep the pilots busy long enough to watch the chunks go by.
    const inputs: unknown[] = [...Array.from({ length: 16 }, () => ({ s: 0.5 })), ...Array.from({ length: 7 }, (_, i) => i + 1), -3];
    await page.goto(`${service.base}/#/servable/doubler`);
    const batch = page.getByTestId('batch');
    await batch.waitFor();
    await batch.getByLabel('Run on').selectOption({ label: 'Cluster local' });
    await batch.getByLabel(/Inputs, one per line/).fill(inputs.map((x) => JSON.stringify(x)).join('\n'));
    await batch.getByRole('button', { name: 'Send batch' }).click();
    await batch.getByTestId('batch-task').filter({ hasText: 'Batch of 24 on cluster local' }).waitFor();

    await page.getByRole('link', { name: 'Tasks' }).first().click();
    const task = page.getByTestId('task-table').locator('tbody tr').filter({ hasText: 'on cluster local' }).first();
    await task.waitFor();
    const progress = task.getByTestId('task-progress');
    // Live: the stream brings each answered chunk; the bar shows answered inputs and the chunks.
    await progress.filter({ hasText: /^\d+ of 24 answered · chunks [1-9]\d* of \d+ · \d+ pilot jobs? submitted$/ }).waitFor({ timeout: 60_000 });
    const seen = new Set<string>();
    await waitFor('two different chunk counts in Tasks', async () => {
      const text = await progress.textContent().catch(() => null);
      if (text) seen.add(text);
      return seen.size >= 2;
    }, { timeoutMs: 60_000, everyMs: 100 });
    await capture('tasks-cluster-progress');
    await task.getByTestId('task-status').filter({ hasText: 'succeeded' }).waitFor({ timeout: 90_000 });
    await expect(task.getByTestId('task-progress').count()).resolves.toBe(0);
    // Its answers, asked for on Tasks: in order, the failing input's error in its place.
    await task.getByTestId('task-answers').locator('summary').click();
    const listed = task.locator('.answer-list li');
    await listed.nth(23).waitFor();
    const texts = await listed.allTextContents();
    expect(texts.slice(0, 23)).toEqual(inputs.slice(0, 23).map((x) => (typeof x === 'number' ? String(x * 2) : '0.5')));
    expect(texts[23]).toMatch(/^MODEL_ERROR: .*negative input: -3/);
    await capture('tasks-cluster-answers');
    // The CLI tells the same task by its id: sent to the cluster, done.
    const id = (await task.getAttribute('data-testid'))?.replace(/^task-/, '') ?? '';
    const shown = await runCli(['task', id], env);
    expect(shown.stdout.split('\n')[0]).toMatch(new RegExp(`^${id}  succeeded  doubler\\.run \\(batch\\) on local  `));

    await page.goBack();
    const answers = page.getByTestId('batch-answers');
    await answers.waitFor({ timeout: 30_000 });
    const cells = await answers.locator('tbody tr td:nth-child(3)').allTextContents();
    const want = inputs.map((x) => (typeof x === 'number' ? (x < 0 ? null : String(x * 2)) : '0.5'));
    expect(cells.slice(0, 23)).toEqual(want.slice(0, 23));
    expect(cells[23]).toMatch(/^MODEL_ERROR: .*negative input: -3/);
    await expect(answers.locator('caption').textContent()).resolves.toMatch(/^Answered by host on cluster local in \d+\.\d s · 1 input failed$/);
    await capture('servable-cluster-batch');
  }, 240_000);

  it('catalog: a GPU-only record does not fit this machine (the reason on hover and expanded); the local servable fits', async () => {
    await page.goto(`${service.base}/#/catalog`);
    const search = page.getByLabel('Search servables');
    await search.fill('galaxy');
    const gpu = page.getByTestId('hits').getByRole('listitem').filter({ hasText: 'Galaxy morphology (GPU)' });
    const badge = gpu.getByTestId('fit-badge');
    await badge.and(page.locator('[data-fit="no"]')).waitFor({ timeout: 30_000 });
    const summary = badge.locator('summary');
    await expect(summary.textContent()).resolves.toBe('Does not fit: no GPU');
    await expect(summary.getAttribute('title')).resolves.toMatch(/needs a GPU/);
    await summary.click();
    const places = await badge.locator('.fit-places > li').allTextContents();
    expect(places[0]).toMatch(/^This machine: does not fit.*needs a GPU/);
    // The cluster added has no GPUs either: fit answers for it too.
    expect(places[1]).toMatch(/^Cluster local \(partition debug\): does not fit.*GPU/);
    await capture('catalog-fit');

    await search.fill('doubler');
    const local = page.getByTestId('hits').getByRole('listitem').filter({ has: page.locator('.hit-meta span', { hasText: /^doubler$/ }) });
    await local.getByTestId('fit-badge').and(page.locator('[data-fit="yes"]')).waitFor({ timeout: 30_000 });
    await expect(local.getByTestId('fit-badge').locator('summary').textContent()).resolves.toMatch(/^Fits here/);
    await search.fill('');
  }, 90_000);

  it('catalog: fit is asked only for the records in view, not for every result', async () => {
    const asked: string[] = [];
    page.on('request', (r) => {
      if (/\/v1\/servables\/[^/]+\/fit$/.test(new URL(r.url()).pathname)) asked.push(decodeURIComponent(new URL(r.url()).pathname));
    });
    await page.goto(`${service.base}/#/catalog`);
    await page.getByLabel('Search servables').fill('spectrum');
    const hits = page.getByTestId('hits').getByRole('listitem');
    await hits.nth(39).waitFor({ state: 'attached' });
    await hits.first().getByTestId('fit-badge').and(page.locator('[data-fit="yes"]')).waitFor({ timeout: 30_000 });
    await page.waitForTimeout(500);
    const inView = asked.length;
    expect(inView).toBeGreaterThan(0);
    expect(inView).toBeLessThan(20);
    await hits.nth(39).scrollIntoViewIfNeeded();
    await hits.nth(39).getByTestId('fit-badge').and(page.locator('[data-fit="yes"]')).waitFor({ timeout: 30_000 });
    expect(asked.length).toBeGreaterThan(inView);
    // Each record at most once, however often it comes into view.
    expect(new Set(asked).size).toBe(asked.length);
    console.log(`catalog fit: ${inView} of 40 records asked before scrolling, ${asked.length} after scrolling to the last`);
  }, 90_000);

  it('a servable that needs a GPU: its screen says it does not fit, and the batch box says so for here and for the cluster', async () => {
    await page.goto(`${service.base}/#/servable/doubler-gpu`);
    const badge = page.getByTestId('fit-badge');
    await badge.and(page.locator('[data-fit="no"]')).waitFor({ timeout: 30_000 });
    await expect(badge.locator('summary').textContent()).resolves.toBe('Does not fit: no GPU');
    const batch = page.getByTestId('batch');
    // The place chosen last (the cluster) stays chosen from servable to servable.
    await expect(batch.getByLabel('Run on').inputValue()).resolves.toBe('local');
    await batch.getByLabel('Run on').selectOption({ label: 'This machine' });
    await expect(batch.getByTestId('batch-fit').textContent()).resolves.toMatch(/^This machine does not fit this servable: it needs a GPU/);
    await batch.getByLabel('Run on').selectOption({ label: 'Cluster local' });
    await expect(batch.getByTestId('batch-fit').textContent()).resolves.toMatch(/^Cluster local does not fit this servable: it needs a GPU .* partition debug has none\.$/);
    await capture('servable-gpu-fit');
  }, 60_000);

  it('no screen has a serious or critical accessibility violation', () => {
    expect(axe).toEqual(Object.fromEntries(Object.keys(axe).map((k) => [k, []])));
    console.log(`cluster window screenshots:\n${shots.join('\n')}`);
  });
});
