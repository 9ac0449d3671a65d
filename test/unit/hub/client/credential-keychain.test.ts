// The hub token through the OS keychain: Electron's safeStorage (here an object of Electron's own
// SafeStorage type doing real AES-256-GCM with a key only it holds, standing in for the OS) encrypts
// the credentials into a 0600 file; Linux's plain-text fallback and a missing keychain are reported
// for Settings to warn about; the window's engine gets its credentials relayed from the parent.
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileCredentialStore, readStored, writeStored } from '../../../../main/hub/credentials.js';
import { answerCredentialRelay, keychainCredentialStore, keychainFile, relayedCredentialStore, relayInitText, type SafeStorageLike } from '../../../../main/hub/credential-keychain.js';
import { Sessions } from '../../../../main/hub/session.js';
import { fakeSafeStorage } from '../../../helpers/fake-safe-storage.js';
import { tempDir } from '../../../helpers/home.js';

/** Electron's own SafeStorage type is what the store takes: a compile-time check that the seam matches Electron's API. */
const seamMatchesElectron: SafeStorageLike = fakeSafeStorage();
void seamMatchesElectron;

const dirs: { remove: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});
function credDir(): string {
  const d = tempDir('dlhub-keychain-');
  dirs.push(d);
  return join(d.path, 'credentials');
}

const ALICE = { hub: 'http://127.0.0.1:8770', user: 'alice', token: 'dlh_alice_secret_token_0123456789', expiresAt: '2030-01-01T00:00:00.000Z' };

describe('credentials through the OS keychain (safeStorage)', () => {
  it('keeps the token encrypted in a 0600 file, never in plain text, and reads it back', () => {
    const dir = credDir();
    const safe = fakeSafeStorage();
    const store = keychainCredentialStore(dir, safe, 'linux');
    expect(store.read()).toBeUndefined();
    store.write(ALICE);
    const file = keychainFile(dir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const bytes = readFileSync(file);
    expect(bytes.toString('latin1')).not.toContain('dlh_alice');
    expect(bytes.toString('latin1')).not.toContain('alice');
    expect(existsSync(join(dir, 'hub.json'))).toBe(false);
    expect(store.read()).toEqual(ALICE);
    expect(safe.calls).toEqual(['encrypt', 'decrypt']);
    expect(store.info()).toEqual({ kind: 'os-keychain', encrypted: true, backend: 'gnome_libsecret' });
  });

  it('signs in over a plain hub.json from `dlhub login`: read until then, removed once the keychain holds the token', () => {
    const dir = credDir();
    writeStored(dir, { hub: ALICE.hub, user: 'bob', token: 'dlh_bob_plain' });
    const store = keychainCredentialStore(dir, fakeSafeStorage(), 'linux');
    expect(store.read()).toMatchObject({ user: 'bob', token: 'dlh_bob_plain' });
    store.write(ALICE);
    expect(readStored(dir)).toBeUndefined();
    expect(store.read()).toEqual(ALICE);
    expect(store.remove()).toBe(true);
    expect(existsSync(keychainFile(dir))).toBe(false);
    expect(store.read()).toBeUndefined();
    expect(store.remove()).toBe(false);
  });

  it('a file made under another keychain key reads as signed out, not as an error', () => {
    const dir = credDir();
    keychainCredentialStore(dir, fakeSafeStorage(), 'linux').write(ALICE);
    expect(keychainCredentialStore(dir, fakeSafeStorage(), 'linux').read()).toBeUndefined();
  });

  it('warns where Linux offers only its plain-text fallback (basic_text)', () => {
    const dir = credDir();
    const store = keychainCredentialStore(dir, fakeSafeStorage({ backend: 'basic_text' }), 'linux');
    const info = store.info();
    expect(info).toMatchObject({ kind: 'os-keychain', encrypted: false, backend: 'basic_text' });
    expect(info.warning).toMatch(/plain-text fallback/);
    store.write(ALICE);
    expect(statSync(keychainFile(dir)).mode & 0o777).toBe(0o600);
    expect(store.read()).toEqual(ALICE);
  });

  it('without a keychain at all, keeps the 0600 file and says it is not encrypted', () => {
    const dir = credDir();
    const store = keychainCredentialStore(dir, fakeSafeStorage({ available: false }), 'linux');
    store.write(ALICE);
    expect(existsSync(keychainFile(dir))).toBe(false);
    expect(statSync(join(dir, 'hub.json')).mode & 0o777).toBe(0o600);
    expect(store.info()).toMatchObject({ kind: 'file', encrypted: false });
    expect(store.info().warning).toMatch(/No OS keychain/);
  });

  it('asks for the backend only on Linux (Electron has it nowhere else)', () => {
    const safe = fakeSafeStorage({ backend: 'basic_text' });
    expect(keychainCredentialStore(credDir(), safe, 'darwin').info()).toEqual({ kind: 'os-keychain', encrypted: true });
  });

  it('the plain store reports a 0600 file', () => {
    expect(fileCredentialStore(credDir()).info()).toEqual({ kind: 'file', encrypted: false });
  });
});

describe('the credentials relay between the window (Electron main) and its engine', () => {
  it('hands the engine the credentials at start, and keeps its sign-ins and sign-outs in the keychain', () => {
    const dir = credDir();
    const keychain = keychainCredentialStore(dir, fakeSafeStorage({ backend: 'basic_text' }), 'linux');
    keychain.write(ALICE);
    const child = new EventEmitter();
    answerCredentialRelay(child, keychain);
    const engine = relayedCredentialStore(relayInitText(keychain), (m) => child.emit('message', m));
    expect(engine.read()).toEqual(ALICE);
    expect(engine.info().warning).toMatch(/plain-text fallback/);

    const bob = { hub: ALICE.hub, user: 'bob', token: 'dlh_bob_token_abcdef' };
    engine.write(bob);
    expect(keychain.read()).toEqual({ ...bob, expiresAt: undefined });
    expect(readFileSync(keychainFile(dir)).toString('latin1')).not.toContain('dlh_bob');
    expect(engine.remove()).toBe(true);
    expect(keychain.read()).toBeUndefined();
    expect(engine.read()).toBeUndefined();
  });

  it('ignores messages that are not credentials', () => {
    const dir = credDir();
    const keychain = keychainCredentialStore(dir, fakeSafeStorage(), 'linux');
    const child = new EventEmitter();
    answerCredentialRelay(child, keychain);
    for (const m of [null, 'write', { dlhubCredentials: 'write', credentials: { hub: 1 } }, { dlhubCredentials: 'other' }]) child.emit('message', m);
    expect(keychain.read()).toBeUndefined();
  });

  it('Sessions over the keychain store: the credentials in force and the store\'s warning', () => {
    const dir = credDir();
    const keychain = keychainCredentialStore(dir, fakeSafeStorage({ backend: 'basic_text' }), 'linux');
    keychain.write(ALICE);
    const sessions = new Sessions(keychain);
    expect(sessions.credentials()).toMatchObject({ source: 'file', user: 'alice', hub: ALICE.hub });
    expect(sessions.storeInfo().warning).toMatch(/plain-text fallback/);
  });
});
