// Where the desktop's hub credentials come from: the file `dlhub login` writes ($DLHUB_HOME/credentials/
// hub.json, mode 0600), or for headless use (CI, a cluster job) the environment, as Globus Compute
// does: an existing token in DLHUB_TOKEN, or a client id and secret in DLHUB_CLIENT_ID and
// DLHUB_CLIENT_SECRET traded for a token on first use. The token is never printed or logged.
// Where the file's token is kept is a seam (CredentialStore): the window's engine keeps it through
// the OS keychain instead (credential-keychain.ts).
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { CredentialStoreInfo, HubIdentity } from '../contract/hub.js';

export type { CredentialStoreInfo };

/** What the credentials file holds. */
export interface StoredCredentials {
  hub: string;
  user: string;
  token: string;
  expiresAt?: string | undefined;
}

/** Credentials as a call uses them: where the hub is and how to sign in. */
export type Credentials =
  | { source: 'file' | 'env-token'; hub: string; user: string; token: string; expiresAt?: string | undefined }
  | { source: 'env-client'; hub: string; clientId: string; clientSecret: string };

/**
 * Where the signed-in token lives: the 0600 file by default; the window's engine gets one
 * backed by the OS keychain (safeStorage) from Electron's main process.
 */
export interface CredentialStore {
  read(): StoredCredentials | undefined;
  write(c: StoredCredentials): void;
  /** Forget the credentials; true when there were some. */
  remove(): boolean;
  info(): CredentialStoreInfo;
}

/** The default store: `hub.json` in the credentials folder, mode 0600, not encrypted. */
export function fileCredentialStore(dir: string): CredentialStore {
  return {
    read: () => readStored(dir),
    write: (c) => writeStored(dir, c),
    remove: () => removeStored(dir),
    info: () => ({ kind: 'file', encrypted: false }),
  };
}

/** Parse credentials from JSON text; undefined when the text is not credentials. */
export function parseStored(text: string): StoredCredentials | undefined {
  try {
    const c = JSON.parse(text) as Partial<StoredCredentials> | null;
    if (c && typeof c.hub === 'string' && typeof c.user === 'string' && typeof c.token === 'string') {
      return { hub: c.hub, user: c.user, token: c.token, expiresAt: typeof c.expiresAt === 'string' ? c.expiresAt : undefined };
    }
  } catch {
    // Not JSON: not credentials.
  }
  return undefined;
}

/** Write bytes to a file atomically, readable by this user only from the first byte. */
export function writePrivateFile(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  // Flag wx with mode 0600: the secret is never readable by others, even for a moment.
  writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** The credentials file of a home's credentials folder. */
export function credentialsFile(dir: string): string {
  return join(dir, 'hub.json');
}

/** Read the credentials file, or undefined when there is none (or it cannot be read as credentials). */
export function readStored(dir: string): StoredCredentials | undefined {
  try {
    return parseStored(readFileSync(credentialsFile(dir), 'utf8'));
  } catch {
    // No file: signed out.
    return undefined;
  }
}

/** Write the credentials file atomically, readable by this user only. */
export function writeStored(dir: string, c: StoredCredentials): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writePrivateFile(credentialsFile(dir), JSON.stringify(c, null, 2));
}

/** Delete the credentials file; true when there was one. */
export function removeStored(dir: string): boolean {
  const had = readStored(dir) !== undefined;
  rmSync(credentialsFile(dir), { force: true });
  return had;
}

/** The hub address without a trailing slash, checked to be http(s). */
export function normalizeHubUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError('USAGE', `"${raw}" is not a hub address.`, { hint: 'Give the hub as a URL, e.g. --hub http://127.0.0.1:8770' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('USAGE', `A hub address is http:// or https://, not ${url.protocol}`, { hint: 'e.g. --hub http://127.0.0.1:8770' });
  if (url.username || url.password) throw new UsageError('USAGE', 'A hub address carries no user or password.', { hint: 'Sign in with `dlhub login --hub URL --user U`.' });
  return url.href.replace(/\/+$/, '');
}

/**
 * The credentials in force: DLHUB_TOKEN, else DLHUB_CLIENT_ID/DLHUB_CLIENT_SECRET, else the file.
 * The hub comes from DLHUB_HUB_URL, else the file. Undefined when signed out.
 */
export function currentCredentials(from: string | CredentialStore, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const stored = typeof from === 'string' ? readStored(from) : from.read();
  const hubOf = (): string | undefined => {
    const h = env['DLHUB_HUB_URL'] || stored?.hub;
    return h ? normalizeHubUrl(h) : undefined;
  };
  const token = env['DLHUB_TOKEN'];
  if (token) {
    const hub = hubOf();
    if (!hub) throw missingHub('DLHUB_TOKEN');
    return { source: 'env-token', hub, user: stored?.hub === hub ? stored.user : '', token };
  }
  const clientId = env['DLHUB_CLIENT_ID'];
  const clientSecret = env['DLHUB_CLIENT_SECRET'];
  if (clientId && clientSecret) {
    const hub = hubOf();
    if (!hub) throw missingHub('DLHUB_CLIENT_ID');
    return { source: 'env-client', hub, clientId, clientSecret };
  }
  if (!stored) return undefined;
  return { source: 'file', hub: env['DLHUB_HUB_URL'] ? normalizeHubUrl(env['DLHUB_HUB_URL']) : stored.hub, user: stored.user, token: stored.token, expiresAt: stored.expiresAt };
}

function missingHub(variable: string): UsageError {
  return new UsageError('USAGE', `${variable} is set but no hub address is known.`, { hint: 'Set DLHUB_HUB_URL to the hub\'s address, e.g. http://127.0.0.1:8770.' });
}

/** The identity a credentials record shows (no secret in it). */
export function identityOf(c: Credentials, user: string, extra: Partial<HubIdentity> = {}): HubIdentity {
  return { hub: c.hub, user, source: c.source, ...('expiresAt' in c && c.expiresAt ? { expiresAt: c.expiresAt } : {}), ...extra };
}
