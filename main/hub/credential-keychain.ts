// The hub token kept through the OS keychain, for the window. Electron's `safeStorage` encrypts
// with a key the OS keeps (Keychain, DPAPI, libsecret or KWallet); the ciphertext goes to
// `credentials/hub.keychain`, mode 0600. Where Linux has no keychain, Electron offers only its
// plain-text fallback ('basic_text': a fixed key), and the store says so, so Settings can warn.
//
// The engine is a child process on the system's Node (`dlhub serve`), and only Electron's main
// process can call safeStorage. So the keychain store lives there, and the child gets a relayed
// store: the credentials once on its standard input at start (read synchronously, before any hub
// call), and each sign-in or sign-out sent back over the IPC channel for the parent to encrypt.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError } from '../errors.js';
import { fileCredentialStore, parseStored, readStored, removeStored, writePrivateFile, type CredentialStore, type CredentialStoreInfo, type StoredCredentials } from './credentials.js';

/** As much of Electron's `SafeStorage` as the store uses (main/ cannot import Electron; the tests check the match). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only in Electron's API. */
  getSelectedStorageBackend?(): string;
}

/** The encrypted credentials file of a credentials folder. */
export function keychainFile(dir: string): string {
  return join(dir, 'hub.keychain');
}

/** What the keychain offers, in the words Settings shows. */
export function keychainInfo(safe: SafeStorageLike, platform: NodeJS.Platform = process.platform): CredentialStoreInfo {
  const backend = platform === 'linux' ? safe.getSelectedStorageBackend?.() : undefined;
  if (!safe.isEncryptionAvailable()) {
    return { kind: 'file', encrypted: false, ...(backend ? { backend } : {}), warning: 'No OS keychain is available: the hub token is kept in a file only you can read (mode 0600), not encrypted.' };
  }
  if (backend === 'basic_text' || backend === 'unknown') {
    return { kind: 'os-keychain', encrypted: false, backend, warning: 'Linux offers no keychain here (no Secret Service or KWallet), only its plain-text fallback: the hub token is kept in a file only you can read (mode 0600), scrambled with a fixed key, not truly encrypted.' };
  }
  return { kind: 'os-keychain', encrypted: true, ...(backend ? { backend } : {}) };
}

/**
 * Credentials encrypted with safeStorage in `hub.keychain` (0600). Sign-in writes there and removes
 * the plain `hub.json`, so the token is not also left unencrypted; a `hub.json` from `dlhub login`
 * is still read while there is no keychain file. Without a keychain at all it is the plain file.
 */
export function keychainCredentialStore(dir: string, safe: SafeStorageLike, platform: NodeJS.Platform = process.platform): CredentialStore {
  const file = keychainFile(dir);
  const info = (): CredentialStoreInfo => keychainInfo(safe, platform);
  const plain = fileCredentialStore(dir);
  const read = (): StoredCredentials | undefined => {
    if (!existsSync(file)) return readStored(dir);
    try {
      return parseStored(safe.decryptString(readFileSync(file)));
    } catch {
      // Made under another keychain key (a new OS account, a reset keyring): signed out.
      return undefined;
    }
  };
  return {
    read,
    write(c: StoredCredentials) {
      if (!safe.isEncryptionAvailable()) {
        plain.write(c);
        return;
      }
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writePrivateFile(file, safe.encryptString(JSON.stringify(c)));
      removeStored(dir);
    },
    remove() {
      const had = read() !== undefined;
      rmSync(file, { force: true });
      removeStored(dir);
      return had;
    },
    info,
  };
}

/** The variable that tells `dlhub serve` its credentials come from the parent (Electron's main process). */
export const CREDENTIAL_RELAY_ENV = 'DLHUB_CREDENTIAL_STORE';

/** What the parent hands the child at start, on its standard input. */
interface RelayInit {
  credentials: StoredCredentials | null;
  info: CredentialStoreInfo;
}

/** A message from the child: a sign-in to keep, or a sign-out. */
type RelayMessage = { dlhubCredentials: 'write'; credentials: StoredCredentials } | { dlhubCredentials: 'remove' };

/** The parent's side: the text to write to the child's standard input (then end it). */
export function relayInitText(store: CredentialStore): string {
  const init: RelayInit = { credentials: store.read() ?? null, info: store.info() };
  return JSON.stringify(init);
}

/** What the parent needs of the child process (a `ChildProcess` spawned with an 'ipc' slot). */
export interface RelayChild {
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** The parent's side: keep what the child's sign-ins and sign-outs send, in `store`. */
export function answerCredentialRelay(child: RelayChild, store: CredentialStore): void {
  child.on('message', (m: unknown) => {
    const msg = m as Partial<RelayMessage> | null;
    if (!msg || typeof msg !== 'object') return;
    if (msg.dlhubCredentials === 'remove') store.remove();
    else if (msg.dlhubCredentials === 'write') {
      const c = parseStored(JSON.stringify((msg as { credentials?: unknown }).credentials ?? null));
      if (c) store.write(c);
    }
  });
}

/** The child's side: credentials as the parent gave them, each change sent back to it to keep. */
export function relayedCredentialStore(initText: string, send: (m: RelayMessage) => void): CredentialStore {
  let init: RelayInit;
  try {
    init = JSON.parse(initText) as RelayInit;
  } catch {
    throw new ServiceError('INTERNAL', 'The window did not hand the service its credentials.', { hint: `${CREDENTIAL_RELAY_ENV}=parent is for the service the window starts; unset it to use the credentials file.` });
  }
  let current = init.credentials ? parseStored(JSON.stringify(init.credentials)) : undefined;
  const info: CredentialStoreInfo = init.info && typeof init.info === 'object' ? init.info : { kind: 'file', encrypted: false };
  return {
    read: () => current,
    write(c) {
      current = c;
      send({ dlhubCredentials: 'write', credentials: c });
    },
    remove() {
      const had = current !== undefined;
      current = undefined;
      send({ dlhubCredentials: 'remove' });
      return had;
    },
    info: () => info,
  };
}

let relayed: CredentialStore | undefined;

/**
 * The store of this process: relayed from the parent when it started us so (the window's engine),
 * else the 0600 file in `dir`.
 */
export function credentialStoreFor(dir: string, env: NodeJS.ProcessEnv = process.env): CredentialStore {
  if (env[CREDENTIAL_RELAY_ENV] !== 'parent' || typeof process.send !== 'function') return fileCredentialStore(dir);
  if (!relayed) {
    const send = process.send.bind(process);
    // Standard input is the parent's pipe: it writes the credentials and closes it, so this read ends at once.
    relayed = relayedCredentialStore(readFileSync(0, 'utf8'), (m) => void send(m));
    // The channel must not keep the service alive on its own.
    process.channel?.unref();
  }
  return relayed;
}
