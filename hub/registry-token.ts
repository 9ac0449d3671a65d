// The registry's token service (the distribution token spec): RS256 JWTs naming the repositories
// and actions a caller may have, signed with a key whose self-signed certificate is the registry's
// rootcertbundle. The certificate travels in the header's `x5c`, which the registry checks
// against that bundle.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createSign, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceError, errorMessage } from '../main/errors.js';

/** The service name the registry is configured with (its `auth.token.service`). */
export const REGISTRY_SERVICE = 'dlhub-registry';
/** The issuer the registry is configured with (its `auth.token.issuer`). */
export const REGISTRY_ISSUER = 'dlhub-hub';
/** How long a registry token lives, in seconds. */
export const REGISTRY_TOKEN_SECONDS = 300;

/** One granted access, as the spec's `access` claim writes it. */
export interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** A requested scope: `repository:OWNER/NAME:pull,push`. */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

/** Parse scopes (`type:name:actions`, the name may hold a `:port`-free path); malformed ones are dropped. */
export function parseScopes(scope: string | readonly string[] | undefined): Scope[] {
  const all = scope === undefined ? [] : typeof scope === 'string' ? [scope] : scope;
  const out: Scope[] = [];
  // Several scopes may come space-separated in one parameter as well as in several.
  for (const one of all.flatMap((s) => s.split(' ')).filter(Boolean)) {
    const first = one.indexOf(':');
    const last = one.lastIndexOf(':');
    if (first <= 0 || last <= first) continue;
    out.push({ type: one.slice(0, first), name: one.slice(first + 1, last), actions: one.slice(last + 1).split(',').filter(Boolean) });
  }
  return out;
}

/** The files of the token signing key. */
export function signingFiles(home: string): { key: string; cert: string } {
  const dir = join(home, 'registry');
  return { key: join(dir, 'token.key'), cert: join(dir, 'token.crt') };
}

/** Make the signing key and its self-signed certificate under `home` unless they exist. */
export function ensureSigningKey(home: string): { key: string; cert: string } {
  const files = signingFiles(home);
  if (existsSync(files.key) && existsSync(files.cert)) return files;
  mkdirSync(join(home, 'registry'), { recursive: true, mode: 0o700 });
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.key, '-out', files.cert, '-days', '3650', '-subj', '/CN=dlhub-hub token signer'], { stdio: 'pipe' });
  } catch (err) {
    throw new ServiceError('SERVICE_UNAVAILABLE', `Cannot make the registry token signing key: ${errorMessage(err)}`, { hint: 'Install openssl (Debian: apt-get install openssl).' });
  }
  return files;
}

/** Signs registry tokens with the key under the hub's home. */
export class TokenSigner {
  private readonly key: KeyObject;
  private readonly x5c: string;

  constructor(files: { key: string; cert: string }) {
    this.key = createPrivateKey(readFileSync(files.key));
    this.x5c = new X509Certificate(readFileSync(files.cert)).raw.toString('base64');
  }

  /** A signed token for `subject` ('' when anonymous) granting `access` at `service`. */
  sign(subject: string, service: string, access: Access[], now: number): string {
    const iat = Math.floor(now / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [this.x5c] };
    const claims = { iss: REGISTRY_ISSUER, sub: subject, aud: service, exp: iat + REGISTRY_TOKEN_SECONDS, nbf: iat - 10, iat, jti: randomBytes(16).toString('hex'), access };
    const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = `${part(header)}.${part(claims)}`;
    const signature = createSign('RSA-SHA256').update(body).sign(this.key).toString('base64url');
    return `${body}.${signature}`;
  }
}
