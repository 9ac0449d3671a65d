import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Dlhub } from '../../main/api/dlhub.js';
import { Engine } from '../../main/engine/engine.js';
import { loadSettings, type Settings } from '../../main/engine/settings.js';
import { MemoCache } from '../../main/memo/memo-cache.js';
import { RuntimeRegistry } from '../../main/runtime/registry.js';
import { ensureHome, homePaths } from '../../main/storage/home.js';

/** Python functions the engine suites call; each takes one JSON-ish input. */
export const ENGINE_APP = `
import os, random, time

# Made once per worker process: two answers with the same token came from the same worker.
TOKEN = os.urandom(8).hex()

def tagged(x):
    """Sleep x['s'] seconds, then answer [x['i'], the worker's token]."""
    time.sleep(x.get('s', 0))
    return [x.get('i'), TOKEN]

def double(x):
    """Twice x; a negative x raises; {'s': seconds} sleeps that long first."""
    if isinstance(x, dict):
        time.sleep(x['s'])
        return x['s']
    if x < 0:
        raise ValueError("negative input: %r" % (x,))
    return x * 2

def echo(x):
    return x

def dice(x):
    time.sleep(x.get('s', 0) if isinstance(x, dict) else 0)
    return random.random()
`;

/** Write a one-method servable folder calling `fn` of `app` (ENGINE_APP unless a suite brings its own). */
export function engineServable(dir: string, name: string, fn: string, deterministic = true, app = ENGINE_APP): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'app.py'), app);
  writeFileSync(join(folder, 'dlhub.json'), JSON.stringify({
    datacite: { titles: [{ title: name }], creators: [{ creatorName: 'Doe, Jane' }] },
    dlhub: { name, version: '1.0.0', files: { other: ['app.py'] } },
    servable: {
      type: 'Python static method',
      shim: 'python.PythonStaticMethodServable',
      deterministic,
      methods: { run: { input: { type: 'python object' }, output: { type: 'python object' }, method_details: { module: 'app', method_name: fn } } },
    },
  }));
  return folder;
}

/** Build servables into `home` (images too unless `hostOnly`). */
export async function buildEngineServables(
  home: string,
  work: string,
  list: readonly (readonly [name: string, fn: string, deterministic?: boolean])[],
  opts: { baseImage?: string | undefined; hostOnly?: boolean } = {},
): Promise<void> {
  const api = new Dlhub({ home, baseImage: opts.baseImage });
  try {
    for (const [name, fn, det] of list) {
      await api.buildServable({ dir: engineServable(work, name, fn, det ?? true), runtime: opts.hostOnly ? 'host' : undefined });
    }
  } finally {
    await api.close();
  }
}

/** An engine over `home`, composed as the app composes it, with some settings changed. */
export function openEngine(home: string, settings: Partial<Settings> = {}): { engine: Engine; close: () => Promise<void> } {
  const paths = ensureHome(homePaths(home));
  const all = { ...loadSettings({}), ...settings };
  const memo = MemoCache.open(paths.memoDb);
  const registry = RuntimeRegistry.standard({
    home: paths.root,
    runDir: paths.run,
    logDir: paths.logs,
    defaults: { memoryBytes: all.workerMemoryBytes, pidsLimit: all.workerPidsLimit },
  });
  const engine = new Engine(paths, all, memo, registry);
  return {
    engine,
    close: async () => {
      await engine.close();
      memo.close();
    },
  };
}
