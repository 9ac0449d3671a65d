// Publishing from a git repository, as DLHub's `publish_repository`: the repository (a URL over
// file://, ssh, git or http(s), or a local path) is fetched shallowly at one ref into a private folder,
// checked (dlhub.json at its root, no link pointing out of it), its commit recorded, and the folder
// handed to the ordinary build. Only git's plain transports are allowed: `ext::` and friends run
// commands, and an argument that starts with "-" would be read by git as an option.
import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LimitError, PathError, RepositoryError, UsageError } from '../errors.js';

/** Transports git may use for a publish (GIT_ALLOW_PROTOCOL). */
const ALLOWED_PROTOCOLS = 'file:git:http:https:ssh';
/** How long a clone may take before it is stopped. */
const CLONE_TIMEOUT_MS = 10 * 60_000;
/** The most files and folders a repository may hold (the walk that looks for links stops there). */
const MAX_ENTRIES = 100_000;
/** A ref: a branch, tag or commit name, never an option and never `..`. */
const REF_RE = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$/;
/** `user@host:path`, git's short form of an ssh URL. */
const SCP_RE = /^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!\/\/)[^\s]+$/;

/** Where a repository is: a URL git fetches from, or a local folder the caller's door must allow first. */
export type RepositoryLocation =
  | { kind: 'url'; url: string; recorded: string }
  | { kind: 'path'; path: string };

function refuse(repo: string, why: string): never {
  throw new UsageError('USAGE', `${JSON.stringify(repo.slice(0, 200))} is not a repository to publish from: ${why}.`, {
    hint: 'Give an https://, ssh://, git:// or file:// URL, user@host:path, or a local folder; e.g. dlhub publish --repo https://github.com/OWNER/REPO',
  });
}

/** The URL with any user name and password taken out, as it is recorded and shown. */
function withoutCredentials(u: URL): string {
  const copy = new URL(u.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/** Read `--repo`: which transport, and what is recorded as the servable's source (never a password). */
export function parseRepository(repo: string): RepositoryLocation {
  if (repo === '' || repo.length > 2048) refuse(repo, 'it is empty or longer than 2048 characters');
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\u0000-\u001f\u007f]/.test(repo)) refuse(repo, 'it contains a control character');
  if (repo.startsWith('-')) refuse(repo, 'it starts with "-"');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(repo)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    let u: URL;
    try {
      u = new URL(repo);
    } catch {
      return refuse(repo, 'it is not a URL');
    }
    if (scheme === 'file') return { kind: 'path', path: fileURLToPath(u) };
    if (!['https', 'http', 'ssh', 'git'].includes(scheme)) refuse(repo, `git may not fetch over "${scheme}" here (only https, http, ssh, git and file)`);
    return { kind: 'url', url: repo, recorded: withoutCredentials(u) };
  }
  // `ext::COMMAND` and other remote helpers: git would run them.
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(repo)) refuse(repo, 'remote helpers ("TRANSPORT::...") are not allowed');
  if (SCP_RE.test(repo)) return { kind: 'url', url: repo, recorded: repo };
  return { kind: 'path', path: repo };
}

/** Check `--ref`: a branch, tag or commit. */
export function checkRef(ref: string | undefined): string | undefined {
  if (ref === undefined || ref === '') return undefined;
  if (!REF_RE.test(ref)) {
    throw new UsageError('USAGE', `--ref ${JSON.stringify(ref.slice(0, 200))} is not a branch, tag or commit name.`, { hint: 'e.g. --ref main, --ref v1.2 or --ref 3f2c1e9 (letters, digits, ".", "_", "/", "+", "-"; no "..").' });
  }
  return ref;
}

/** Run git with the transports limited and no prompt; answers stdout, or throws with git's last words. */
function git(args: string[], opts: { cwd: string; signal?: AbortSignal | undefined; scrub: (s: string) => string }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const env = { ...process.env, GIT_ALLOW_PROTOCOL: ALLOWED_PROTOCOLS, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', SSH_ASKPASS: '', LC_ALL: 'C', GIT_CONFIG_PARAMETERS: '' };
    const signal = AbortSignal.any([AbortSignal.timeout(CLONE_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])]);
    const child = spawn('git', args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], signal });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(new RepositoryError('REPOSITORY_INVALID', 'git is not installed, so no repository can be cloned.', { hint: 'Install git (Debian: apt-get install git; scripts/setup.sh does it).' }));
      else if (opts.signal?.aborted) reject(e);
      else reject(new RepositoryError('REPOSITORY_INVALID', `git ${args[0] ?? ''} stopped: ${e.message}`, { hint: 'The repository took too long; try again, or clone it yourself and publish the folder.' }));
    });
    child.on('close', (code) => {
      if (code === 0) return resolvePromise(out);
      const last = opts.scrub(err.trim().split('\n').filter(Boolean).slice(-2).join(' ')) || `exit ${code}`;
      reject(new RepositoryError('REPOSITORY_INVALID', `git ${args[0] ?? ''} failed: ${last}`, { hint: 'Check the repository address, the ref, and that you may read it (ssh keys, or a token for https).' }));
    });
  });
}

/** The links under `root` that point out of it (relative names), walking at most MAX_ENTRIES entries. */
export async function linksOutside(root: string): Promise<string[]> {
  const out: string[] = [];
  const stack = [root];
  let seen = 0;
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (++seen > MAX_ENTRIES) {
        throw new LimitError('LIMIT_EXCEEDED', `The repository holds more than ${MAX_ENTRIES} files and folders.`, { hint: 'Publish a repository that holds the servable alone.', details: { limit: 'files', max: MAX_ENTRIES } });
      }
      const abs = join(dir, entry.name);
      if (entry.isDirectory()) stack.push(abs);
      else if (entry.isSymbolicLink()) {
        const target = await readlink(abs);
        const rel = relative(root, resolve(dirname(abs), target));
        if (isAbsolute(target) || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) out.push(relative(root, abs));
      }
    }
  }
  return out.sort();
}

/** A repository fetched into a private folder. */
export interface ClonedRepository {
  /** The working tree (no .git folder): dlhub.json at its root. */
  dir: string;
  /** The commit checked out (hex). */
  commit: string;
  /** The repository as recorded (no credentials). */
  repository: string;
  /** Remove the folder. */
  remove(): Promise<void>;
}

/**
 * Fetch `url` at `ref` (default: its HEAD) with depth 1 into a new 0700 folder under `stagingDir`,
 * then check it: a regular dlhub.json at the root, no link out of the tree. On any failure nothing
 * of it is left.
 */
export async function cloneRepository(stagingDir: string, url: string, recorded: string, ref: string | undefined, signal?: AbortSignal): Promise<ClonedRepository> {
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  const holder = await mkdtemp(join(stagingDir, 'repo-'));
  const dir = join(holder, 'tree');
  const scrub = (s: string): string => s.split(url).join(recorded);
  const remove = (): Promise<void> => rm(holder, { recursive: true, force: true });
  try {
    await git(['init', '-q', '--template=', dir], { cwd: holder, signal, scrub });
    await git(['fetch', '-q', '--depth', '1', '--no-tags', '--', url, ref ?? 'HEAD'], { cwd: dir, signal, scrub });
    await git(['-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', 'FETCH_HEAD'], { cwd: dir, signal, scrub });
    const commit = (await git(['rev-parse', 'HEAD'], { cwd: dir, signal, scrub })).trim();
    // The servable is the tree at that commit: git's own files are not part of it.
    await rm(join(dir, '.git'), { recursive: true, force: true });
    const at = `${recorded}${ref ? ` (${ref})` : ''} at ${commit.slice(0, 12)}`;
    const top = await lstat(join(dir, 'dlhub.json')).catch(() => undefined);
    if (!top?.isFile()) {
      throw new RepositoryError('REPOSITORY_INVALID', `${at} has no dlhub.json at its root${top ? ' (it is not a regular file)' : ''}, so it holds no servable to publish.`, {
        hint: 'Describe the servable with `dlhub init DIR`, commit its dlhub.json at the repository\'s root, and publish again.', details: { repository: recorded, commit },
      });
    }
    const outside = await linksOutside(dir);
    if (outside.length > 0) {
      throw new PathError('PATH_UNSAFE', `${at} holds ${outside.length === 1 ? 'a link' : 'links'} pointing outside the repository: ${outside.slice(0, 5).join(', ')}${outside.length > 5 ? ', ...' : ''}.`, {
        hint: 'Replace the links with the files themselves, or make them point inside the repository.', details: { repository: recorded, commit, links: outside.slice(0, 20) },
      });
    }
    return { dir, commit, repository: recorded, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** One DataCite related identifier. */
interface RelatedIdentifier {
  relatedIdentifier: string;
  relatedIdentifierType: string;
  relationType: string;
}

/**
 * The provenance a repository publish records in dlhub.json's DataCite block (so it travels with the
 * metadata to the hub and every desktop that syncs it): the repository's URL, and the commit as a
 * Software Heritage identifier (`swh:1:rev:SHA1`, which is git's commit id), both IsDerivedFrom.
 */
export function provenanceIdentifiers(repository: string, commit: string): RelatedIdentifier[] {
  const commitId = /^[0-9a-f]{40}$/.test(commit)
    ? { relatedIdentifier: `swh:1:rev:${commit}`, relatedIdentifierType: 'SWHID', relationType: 'IsDerivedFrom' }
    : { relatedIdentifier: commit, relatedIdentifierType: 'GitCommit', relationType: 'IsDerivedFrom' };
  return [{ relatedIdentifier: repository, relatedIdentifierType: 'URL', relationType: 'IsDerivedFrom' }, commitId];
}

/** The repository and commit a servable's metadata records (the pair provenanceIdentifiers wrote, last one wins), if any. */
export function readProvenance(metadata: { datacite?: { relatedIdentifiers?: unknown } }): { repository: string; commit: string } | undefined {
  const ids = Array.isArray(metadata.datacite?.relatedIdentifiers) ? (metadata.datacite.relatedIdentifiers as Partial<RelatedIdentifier>[]) : [];
  for (let i = ids.length - 1; i > 0; i--) {
    const c = ids[i];
    const u = ids[i - 1];
    if (c?.relationType !== 'IsDerivedFrom' || (c.relatedIdentifierType !== 'SWHID' && c.relatedIdentifierType !== 'GitCommit') || typeof c.relatedIdentifier !== 'string') continue;
    if (u?.relationType !== 'IsDerivedFrom' || u.relatedIdentifierType !== 'URL' || typeof u.relatedIdentifier !== 'string') continue;
    return { repository: u.relatedIdentifier, commit: c.relatedIdentifier.replace(/^swh:1:rev:/, '') };
  }
  return undefined;
}

/**
 * Write the provenance into the clone's dlhub.json before it is built (after what the author listed).
 * A file that is not a JSON object with a datacite block is left for the build to report.
 */
export async function recordProvenance(dir: string, repository: string, commit: string): Promise<void> {
  const file = join(dir, 'dlhub.json');
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return;
  const md = doc as { datacite?: Record<string, unknown> };
  if (typeof md.datacite !== 'object' || md.datacite === null) return;
  const listed = Array.isArray(md.datacite['relatedIdentifiers']) ? (md.datacite['relatedIdentifiers'] as unknown[]) : [];
  md.datacite['relatedIdentifiers'] = [...listed, ...provenanceIdentifiers(repository, commit)];
  await writeFile(file, `${JSON.stringify(md, null, 2)}\n`);
}
