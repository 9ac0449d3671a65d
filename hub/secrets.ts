// Passwords, tokens and client secrets: scrypt for what a person chose, SHA-256 for what the hub
// drew at random (long enough that a fast hash cannot be searched), and constant-time comparisons.
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N: n, r, p, maxmem: 256 * n * r }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A password as `scrypt$N$r$p$salt$key` (base64url parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, R, P);
  return ['scrypt', N, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `password` matches a hash made by hashPassword. */
export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = stored.split('$');
  if (kind !== 'scrypt' || !n || !r || !p || salt === undefined || key === undefined) return false;
  const want = Buffer.from(key, 'base64url');
  const got = await derive(password, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return got.length === want.length && timingSafeEqual(got, want);
}

/** SHA-256 of a random secret, hex (what is stored of tokens and client secrets). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Whether `secret` hashes to `stored`, in constant time. */
export function checkSecret(secret: string, stored: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(stored, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A new bearer token: `dlh_` and 32 random bytes. */
export function newToken(): string {
  return `dlh_${randomBytes(32).toString('base64url')}`;
}

/** A new client id and secret for headless use. */
export function newClientCredentials(): { clientId: string; clientSecret: string } {
  return { clientId: `dlhc_${randomBytes(12).toString('hex')}`, clientSecret: `dlhs_${randomBytes(32).toString('base64url')}` };
}
