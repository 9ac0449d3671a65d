import { closeSync, constants, existsSync, lstatSync, openSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { PathError, UsageError } from '../errors.js';
import type { InitRequest, InitResult } from '../contract/schemas.js';
import { describeFunction } from './describe-function.js';
import { describeSklearn, describeTensorModel } from './describe-model.js';
import { describeTorch } from './describe-torch.js';
import type { Description } from './describe-model.js';
import { detectModelFile, listFiles } from './detect.js';
import type { Detected } from './detect.js';
import type { DataciteCreator, ServableFiles, ServableMetadata } from './metadata.js';
import { validateArgumentType, validateMetadata } from './validate.js';

/**
 * Every field of `dlhub init`, settable without prompts: the initServable request (the contract's
 * InitRequest) less the folder, plus `remote`: the caller came over a network door, so errors do not
 * list the folder's files.
 */
export type InitOptions = Omit<InitRequest, 'dir'> & { remote?: boolean | undefined };

/** What `dlhub init` wrote and what a person must still fill in (a wire type, declared in the contract). */
export type { InitResult };

/** Folder name made into a valid dlhub.name: lowercase, safe characters, no leading dot, at most 64 characters. */
export function sanitizeName(folder: string): string {
  const name = folder.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[.-]+/, '').replace(/-+$/, '').slice(0, 64);
  return name || 'servable';
}

function creator(text: string): DataciteCreator {
  const [family, given] = text.split(',', 2).map((s) => s.trim());
  if (!given) return { creatorName: text.trim(), affiliations: [] };
  return { creatorName: `${family ?? ''}, ${given}`, familyName: family ?? '', givenName: given, affiliations: [] };
}

function describe(dir: string, detected: Detected, opts: InitOptions): Description {
  if (detected.type === 'sklearn') return describeSklearn(dir, detected);
  if (detected.type === 'python') return describeFunction(dir, detected, opts.function);
  return detected.type === 'torch' ? describeTorch(dir, detected) : describeTensorModel(detected);
}

/** Apply --methods, --input and --output; their todo items go away once a person has answered them. */
function applyOverrides(d: Description, opts: InitOptions): string[] {
  let todo = d.todo;
  if (opts.methods && opts.methods.length > 0) {
    const unknown = opts.methods.filter((m) => !(m in d.servable.methods));
    if (unknown.length > 0) throw new UsageError('USAGE', `This servable has no method ${unknown.join(', ')}.`, { hint: `Its methods are: ${Object.keys(d.servable.methods).join(', ')}.` });
    d.servable.methods = Object.fromEntries(Object.entries(d.servable.methods).filter(([m]) => opts.methods?.includes(m)));
  }
  for (const side of ['input', 'output'] as const) {
    const given = opts[side];
    if (!given) continue;
    validateArgumentType(given, `--${side}`);
    for (const method of Object.values(d.servable.methods)) method[side] = structuredClone(given);
    todo = todo.filter((t) => !new RegExp(`^servable\\.methods\\.\\w+\\.${side}\\b`).test(t));
  }
  return todo;
}

/** Detect the model in `dir`, write a valid dlhub.json (2-space JSON) and list what is left to fill in; failures reject. */
export function initServable(dir: string, opts: InitOptions = {}): Promise<InitResult> {
  return new Promise((done) => done(initServableSync(dir, opts)));
}

/** The same as initServable, synchronously (the probes run as blocking subprocesses). */
export function initServableSync(dir: string, opts: InitOptions = {}): InitResult {
  const root = resolve(dir);
  const path = join(root, 'dlhub.json');
  if ((existsSync(path) || lstatSync(path, { throwIfNoEntry: false })) && !opts.overwrite) {
    throw new UsageError('USAGE', `${path} already exists.`, { hint: 'Edit it, or pass --force to replace it with a freshly detected one.' });
  }
  const detected = detectModelFile(root, { type: opts.type, model: opts.model, module: opts.module, quiet: opts.remote });
  const description = describe(root, detected, opts);
  const todo = applyOverrides(description, opts);
  const folder = basename(root);

  // A provisional title keeps the document valid, so `dlhub build` works at once; todo says to replace it.
  if (!opts.title) todo.unshift(`datacite.titles: set a title (--title); "${folder}" (the folder name) is used for now`);
  if (!opts.creators || opts.creators.length === 0) todo.unshift('datacite.creators: add the authors as "Family, Given" (--creator)');
  if (!opts.description) todo.push('datacite.descriptions: describe what the servable does (--description)');

  const version = opts.version ?? '0.1.0';
  const deps = { ...description.dependencies, ...(opts.dependencies ?? {}) };
  const other = listFiles(root).filter((f) => f !== detected.file || detected.type === 'python');
  const files: ServableFiles = detected.type === 'python' ? { other } : { model: detected.file, other };

  const metadata: ServableMetadata = {
    datacite: {
      titles: [{ title: opts.title ?? folder }],
      creators: (opts.creators ?? []).map(creator),
      publisher: 'DLHub',
      publicationYear: String(opts.year ?? new Date().getFullYear()),
      resourceType: { resourceTypeGeneral: 'InteractiveResource' },
      version,
      ...(opts.description ? { descriptions: [{ description: opts.description, descriptionType: 'Abstract' }] } : {}),
      ...(opts.license ? { rightsList: [/^https?:\/\//.test(opts.license) ? { rightsURI: opts.license } : { rights: opts.license }] } : {}),
    },
    dlhub: {
      name: opts.name ?? sanitizeName(folder),
      version,
      type: 'servable',
      domains: opts.domains ?? [],
      visible_to: ['public'],
      files,
      dependencies: { python: deps },
      network: opts.network ?? false,
    },
    // The DLHub SDK names the model file in both blocks; the runner reads servable.files.model.
    servable: {
      ...description.servable,
      ...(detected.type === 'python' ? {} : { files: { model: detected.file } }),
      deterministic: opts.deterministic ?? true,
    },
  };
  validateMetadata(metadata, path);
  // O_NOFOLLOW: a dlhub.json that is a link (to a file outside the folder) is refused, never written through.
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOOP') throw err;
    throw new PathError('PATH_UNSAFE', `${path} is a symbolic link; dlhub init never writes through a link.`, { hint: 'Remove the link, then run dlhub init again.' });
  }
  try {
    writeFileSync(fd, `${JSON.stringify(metadata, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
  return { path, metadata, todo, detected: { ...detected, reason: description.reason } };
}
