import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a stream token grants: one user, one servable, until `expiresAt` (ms since the epoch). */
export interface StreamGrant {
  user: string;
  model: string;
  expiresAt: number;
}

/** Why a token was refused, in words a client can act on. */
export type TokenProblem = 'malformed' | 'forged' | 'expired';

const PREFIX = 'dlg1';

/**
 * Stream tokens, HMAC-SHA256-signed with a key made at each start of the service and kept only in
 * its memory: nothing to store or leak on disk, and a restart (or a kill) voids every token, so a
 * client authenticates again. The grant travels inside the token (`dlg1.<payload>.<signature>`).
 */
export class TokenSigner {
  private readonly key: Buffer;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    key: Buffer = randomBytes(32),
  ) {
    this.key = key;
  }

  /** A token for `user` on `model`, valid for the signer's lifetime setting. */
  issue(user: string, model: string): { token: string; grant: StreamGrant } {
    const grant: StreamGrant = { user, model, expiresAt: this.now() + this.ttlMs };
    const payload = Buffer.from(JSON.stringify([grant.user, grant.model, grant.expiresAt])).toString('base64url');
    return { token: `${PREFIX}.${payload}.${this.sign(payload)}`, grant };
  }

  /** The grant of a sound, unexpired token, else why not. */
  verify(token: string): { grant: StreamGrant } | { problem: TokenProblem } {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) return { problem: 'malformed' };
    const [, payload = '', signature = ''] = parts;
    const want = Buffer.from(this.sign(payload));
    const got = Buffer.from(signature);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return { problem: 'forged' };
    let fields: unknown;
    try {
      fields = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return { problem: 'malformed' };
    }
    if (!Array.isArray(fields) || fields.length !== 3) return { problem: 'malformed' };
    const [user, model, expiresAt] = fields as unknown[];
    if (typeof user !== 'string' || typeof model !== 'string' || typeof expiresAt !== 'number') return { problem: 'malformed' };
    if (this.now() >= expiresAt) return { problem: 'expired' };
    return { grant: { user, model, expiresAt } };
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(`${PREFIX}.${payload}`).digest('base64url');
  }
}
