import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { DetectError } from '../errors.js';
import { resolveUnderSync } from '../storage/path-safety.js';

import type { Detected, ServableKind } from '../contract/schemas.js';

// The servable kinds `dlhub init` can describe, and what detection chose (the kind, the file relative
// to the folder, and why): wire types, declared in the contract.
export type { ServableKind, Detected };

/** Choices that override detection. */
export interface DetectOptions {
  type?: ServableKind | undefined;
  model?: string | undefined;
  module?: string | undefined;
  /** Leave the folder's contents out of error messages (a network caller is answered). */
  quiet?: boolean | undefined;
}

const KIND_BY_EXT: Record<string, ServableKind> = {
  '.pkl': 'sklearn', '.pickle': 'sklearn', '.joblib': 'sklearn',
  '.h5': 'keras', '.keras': 'keras',
  '.pt': 'torch', '.pth': 'torch',
  '.onnx': 'onnx',
  '.py': 'python',
};

const KINDS: readonly ServableKind[] = ['sklearn', 'python', 'keras', 'torch', 'onnx'];
const SUPPORTED = 'a scikit-learn pickle (.pkl, .pickle, .joblib), a Python module (.py), a Keras model (.h5, .keras), a PyTorch model (.pt, .pth) or an ONNX model (.onnx)';
const SKIP_DIRS = new Set(['__pycache__', 'node_modules', 'venv', '.venv', '.git']);

/** Kind implied by a file name, if any. */
export function kindOfFile(file: string): ServableKind | undefined {
  return KIND_BY_EXT[extname(file).toLowerCase()];
}

/**
 * Bounds of the scan of a servable folder, so `dlhub init` on a wrong folder (`/`, a home folder) says so
 * quickly instead of walking the whole file system: files listed, folder depth, and time.
 */
export const SCAN_LIMITS = { maxFiles: 10_000, maxDepth: 32, maxMs: 5_000 };

function tooBig(dir: string, why: string): DetectError {
  return new DetectError('DETECT_FAILED', `${dir} does not look like a servable folder: ${why}.`, {
    hint: 'Run `dlhub init DIR` on the folder that holds the model file and what it needs, not on a parent folder.', details: { reason: why },
  });
}

/** Every regular file under dir (relative, sorted), skipping dotfiles, caches and virtual environments; bounded by SCAN_LIMITS. */
export function listFiles(dir: string, limits: Partial<typeof SCAN_LIMITS> = {}): string[] {
  const { maxFiles, maxDepth, maxMs } = { ...SCAN_LIMITS, ...limits };
  const deadline = Date.now() + maxMs;
  const out: string[] = [];
  const walk = (sub: string, depth: number): void => {
    if (depth > maxDepth) throw tooBig(dir, `its folders nest more than ${maxDepth} deep`);
    if (Date.now() > deadline) throw tooBig(dir, `listing it took more than ${maxMs / 1000} s`);
    let entries;
    try {
      entries = readdirSync(join(dir, sub), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new DetectError('DETECT_FAILED', `Cannot list ${sub === '' ? dir : `${sub} in ${dir}`} (${code}).`, {
        hint: 'Make the servable folder readable, or move what cannot be read out of it.', details: { reason: code },
      });
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.') || SKIP_DIRS.has(entry.name)) continue;
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      // Links are not followed (isDirectory/isFile of a Dirent describe the link itself).
      if (entry.isDirectory()) walk(rel, depth + 1);
      else if (entry.isFile() && rel !== 'dlhub.json' && !entry.name.endsWith('.pyc')) {
        out.push(rel);
        if (out.length > maxFiles) throw tooBig(dir, `it holds more than ${maxFiles} files`);
      }
    }
  };
  walk('', 0);
  return out.sort();
}

function checkKind(type: string | undefined): ServableKind | undefined {
  if (type === undefined || (KINDS as readonly string[]).includes(type)) return type as ServableKind | undefined;
  throw new DetectError('DETECT_FAILED', `Unknown servable type "${type}".`, { hint: `Use --type with one of: ${KINDS.join(', ')}.` });
}

function explicitFile(dir: string, file: string, type: ServableKind | undefined, flag: string, quiet: boolean): Detected {
  const abs = resolve(dir, file);
  const rel = relative(resolve(dir), abs);
  if (rel.startsWith('..') || !existsSync(abs) || !statSync(abs).isFile()) {
    const holds = quiet ? '' : `; it holds: ${listFiles(dir).slice(0, 20).join(', ') || 'nothing'}`;
    throw new DetectError('DETECT_FAILED', `${flag} ${file}: no such file inside ${dir}.`, { hint: `Name a file inside the servable folder${holds}.` });
  }
  // The file is packaged later; refuse now what the packager would refuse (a link at any depth, a fifo).
  resolveUnderSync(resolve(dir), rel);
  const kind = type ?? kindOfFile(rel);
  if (!kind) throw new DetectError('DETECT_FAILED', `Cannot tell what kind of model ${rel} is from its extension.`, { hint: `Pass --type (${KINDS.join(', ')}), or use ${SUPPORTED}.` });
  return { type: kind, file: rel, reason: `${flag} ${rel}${type ? ` with --type ${type}` : ''}` };
}

/** Pick the model file and servable kind for a folder, or explain which flag settles it. */
export function detectModelFile(dir: string, opts: DetectOptions = {}): Detected {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DetectError('DETECT_FAILED', `${dir} is not a folder.`, { hint: 'Run `dlhub init DIR` on the folder that holds the model file.' });
  }
  const type = checkKind(opts.type);
  const quiet = opts.quiet === true;
  if (opts.model) return explicitFile(dir, opts.model, type, '--model', quiet);
  if (opts.module && (type === undefined || type === 'python')) {
    const file = opts.module.endsWith('.py') ? opts.module : `${opts.module.replace(/\./g, '/')}.py`;
    return { ...explicitFile(dir, file, 'python', '--module', quiet), reason: `--module ${file}` };
  }
  const files = listFiles(dir);
  const byKind = (k: ServableKind): string[] => files.filter((f) => kindOfFile(f) === k);
  // Model files win over .py files: a training script usually sits next to the model it wrote.
  const candidates = type ? byKind(type) : files.filter((f) => { const k = kindOfFile(f); return k !== undefined && k !== 'python'; });
  const pool = candidates.length > 0 || type ? candidates : byKind('python').filter((f) => !f.includes('/'));
  if (pool.length === 1) {
    const file = pool[0] as string;
    const kind = type ?? kindOfFile(file) ?? 'python';
    const why = type ? `the only ${type} file` : kind === 'python' ? 'the only Python module and no model file' : `the only model file (${extname(file)})`;
    return { type: kind, file, reason: `${file} is ${why} in the folder` };
  }
  if (pool.length > 1) {
    const flag = pool.every((f) => kindOfFile(f) === 'python') ? '--module' : '--model';
    throw new DetectError('DETECT_FAILED', `${basename(resolve(dir))} holds several candidate files: ${pool.join(', ')}.`, {
      hint: `Choose one with ${flag} FILE, e.g. ${flag} ${pool[0] ?? ''}.`, details: { candidates: pool },
    });
  }
  throw new DetectError('DETECT_FAILED', type
    ? `No ${type} file found in ${dir}.`
    : `No model file found in ${dir}${quiet ? '' : files.length > 0 ? ` (it holds: ${files.slice(0, 10).join(', ')})` : ' (it is empty)'}.`, {
    hint: `Put ${SUPPORTED} in the folder, or name one with --model FILE and --type.`,
  });
}
