// Where the hub credentials come from: the 0600 file `dlhub login` writes, or the environment for
// headless use (a token, or a client id and secret), the environment first.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { credentialsFile, currentCredentials, normalizeHubUrl, readStored, removeStored, writeStored } from '../../../../main/hub/credentials.js';
import { tempDir } from '../../../helpers/home.js';

const dirs: { remove: () => void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

function credDir(): string {
  const d = tempDir('dlhub-cred-');
  dirs.push(d);
  return join(d.path, 'credentials');
}

describe('hub credentials', () => {
  it('are written readable by this user only, read back, and removed', () => {
    const dir = credDir();
    writeStored(dir, { hub: 'http://127.0.0.1:8770', user: 'alice', token: 'dlh_secret', expiresAt: '2030-01-01T00:00:00.000Z' });
    expect(statSync(credentialsFile(dir)).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readStored(dir)).toEqual({ hub: 'http://127.0.0.1:8770', user: 'alice', token: 'dlh_secret', expiresAt: '2030-01-01T00:00:00.000Z' });
    // Rewriting keeps the mode even when the old file was wider.
    writeFileSync(credentialsFile(dir), readFileSync(credentialsFile(dir)), { mode: 0o644 });
    writeStored(dir, { hub: 'http://127.0.0.1:8770', user: 'bob', token: 'dlh_other' });
    expect(statSync(credentialsFile(dir)).mode & 0o777).toBe(0o600);
    expect(removeStored(dir)).toBe(true);
    expect(readStored(dir)).toBeUndefined();
    expect(removeStored(dir)).toBe(false);
  });

  it('take DLHUB_TOKEN, then DLHUB_CLIENT_ID/SECRET, then the file', () => {
    const dir = credDir();
    expect(currentCredentials(dir, {})).toBeUndefined();
    writeStored(dir, { hub: 'http://hub.example:8770', user: 'alice', token: 'dlh_file' });
    expect(currentCredentials(dir, {})).toMatchObject({ source: 'file', hub: 'http://hub.example:8770', user: 'alice', token: 'dlh_file' });
    expect(currentCredentials(dir, { DLHUB_CLIENT_ID: 'ci', DLHUB_CLIENT_SECRET: 's' })).toEqual({ source: 'env-client', hub: 'http://hub.example:8770', clientId: 'ci', clientSecret: 's' });
    expect(currentCredentials(dir, { DLHUB_TOKEN: 'dlh_env', DLHUB_CLIENT_ID: 'ci', DLHUB_CLIENT_SECRET: 's', DLHUB_HUB_URL: 'http://other:1/' })).toMatchObject({ source: 'env-token', hub: 'http://other:1', token: 'dlh_env' });
  });

  it('refuse an environment token with no hub address, and addresses that are not http(s) or carry a password', () => {
    const dir = credDir();
    mkdirSync(dir, { recursive: true });
    expect(() => currentCredentials(dir, { DLHUB_TOKEN: 'dlh_x' })).toThrow(/no hub address/);
    expect(() => normalizeHubUrl('ftp://hub')).toThrow(/http/);
    expect(() => normalizeHubUrl('http://u:p@hub')).toThrow(/no user or password/);
    expect(() => normalizeHubUrl('not a url')).toThrow(/not a hub address/);
    expect(normalizeHubUrl('https://hub.example/')).toBe('https://hub.example');
  });
});
