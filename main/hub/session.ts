// Signing in and out, and the session every hub call runs under: the credentials in force turned
// into a hub address, a token and the user it belongs to (a client id and secret are traded for a
// token once per process).
import { ServiceError, UsageError } from '../errors.js';
import type { HubIdentity, HubLoginRequest, HubLogoutOutcome } from '../contract/hub.js';
import { currentCredentials, fileCredentialStore, identityOf, normalizeHubUrl, type CredentialStore, type CredentialStoreInfo, type Credentials } from './credentials.js';
import { hubApi, isRetryable } from './hub-api.js';

/** A signed-in session: where the hub is, the token, and whose it is. */
export interface Session {
  hub: string;
  token: string | undefined;
  user: string;
}

function notSignedIn(): ServiceError {
  return new ServiceError('UNAUTHORIZED', 'This desktop is not signed in to a hub.', {
    hint: 'Sign in with `dlhub login --hub URL --user U`, or set DLHUB_HUB_URL with DLHUB_TOKEN (or DLHUB_CLIENT_ID and DLHUB_CLIENT_SECRET).',
  });
}

/** Sessions of one home's credentials folder. */
export class Sessions {
  // The token a client id and secret were traded for, kept for this process only.
  private clientToken: { hub: string; clientId: string; token: string; user: string; expires: number } | undefined;

  private readonly store: CredentialStore;

  /** Sessions over a credentials folder's 0600 file, or over another store (the OS keychain in the window). */
  constructor(credentials: string | CredentialStore, private readonly now: () => number = Date.now) {
    this.store = typeof credentials === 'string' ? fileCredentialStore(credentials) : credentials;
  }

  /** The credentials in force, without a network call; undefined when signed out. */
  credentials(): Credentials | undefined {
    return currentCredentials(this.store);
  }

  /** How the stored token is kept (file or OS keychain), and any warning about it. */
  storeInfo(): CredentialStoreInfo {
    return this.store.info();
  }

  /** The hub's address when one is known (signed in, or DLHUB_HUB_URL), else undefined. */
  hub(): string | undefined {
    const c = this.credentials();
    if (c) return c.hub;
    const env = process.env['DLHUB_HUB_URL'];
    return env ? normalizeHubUrl(env) : undefined;
  }

  /** The session for a call that needs a signed-in user. */
  async require(signal?: AbortSignal): Promise<Session> {
    const c = this.credentials();
    if (!c) throw notSignedIn();
    if (c.source === 'env-client') {
      const cached = this.clientToken;
      if (cached && cached.hub === c.hub && cached.clientId === c.clientId && cached.expires > this.now() + 60_000) return { hub: c.hub, token: cached.token, user: cached.user };
      const r = await hubApi(c.hub, undefined, signal).login({ clientId: c.clientId, clientSecret: c.clientSecret });
      this.clientToken = { hub: c.hub, clientId: c.clientId, token: r.token, user: r.user, expires: Date.parse(r.expiresAt) || this.now() + 3600_000 };
      return { hub: c.hub, token: r.token, user: r.user };
    }
    if (c.expiresAt && Date.parse(c.expiresAt) <= this.now()) {
      throw new ServiceError('UNAUTHORIZED', `The hub sign-in for ${c.user} at ${c.hub} expired at ${c.expiresAt}.`, { hint: 'Sign in again with `dlhub login`.' });
    }
    const user = c.user || (await hubApi(c.hub, c.token, signal).whoami()).user;
    return { hub: c.hub, token: c.token, user };
  }

  /** The session when signed in, else an anonymous one for a known hub (public records only). */
  async optional(signal?: AbortSignal): Promise<Session> {
    if (this.credentials()) return this.require(signal);
    const hub = this.hub();
    if (!hub) throw notSignedIn();
    return { hub, token: undefined, user: '' };
  }

  /** Sign in and keep the token in the credentials store (the 0600 file, or the OS keychain). */
  async login(req: HubLoginRequest, signal?: AbortSignal): Promise<HubIdentity> {
    const hub = normalizeHubUrl(req.hub);
    const api = hubApi(hub, req.token, signal);
    let token: string;
    let user: string;
    let expiresAt: string | undefined;
    if (req.token) {
      token = req.token;
      user = (await api.whoami()).user;
    } else if (req.clientId && req.clientSecret) {
      ({ token, user, expiresAt } = await api.login({ clientId: req.clientId, clientSecret: req.clientSecret }));
    } else if (req.user && req.password) {
      ({ token, user, expiresAt } = await api.login({ user: req.user, password: req.password }));
    } else {
      throw new UsageError('USAGE', 'Signing in needs a user and password, a client id and secret, or a token.', { hint: 'dlhub login --hub URL --user U (the password is read from standard input when not given).' });
    }
    this.store.write({ hub, user, token, expiresAt });
    this.clientToken = undefined;
    const groups = await hubApi(hub, token, signal).whoami().then((w) => w.groups, () => undefined);
    return identityOf({ source: 'file', hub, user, token, expiresAt }, user, groups ? { groups } : {});
  }

  /** Revoke the stored token on the hub (when it answers) and forget it here. */
  async logout(signal?: AbortSignal): Promise<HubLogoutOutcome> {
    const stored = this.store.read();
    if (!stored) return { revoked: false, removed: false, note: 'This desktop was not signed in.' };
    let revoked = false;
    let note: string | undefined;
    try {
      revoked = (await hubApi(stored.hub, stored.token, signal).logout()).revoked;
    } catch (err) {
      note = isRetryable(err)
        ? `The hub could not be reached, so the token was not revoked there${stored.expiresAt ? `; it stops working at ${stored.expiresAt}` : ''}.`
        : 'The hub no longer accepted the token (expired or already revoked).';
    }
    const removed = this.store.remove();
    this.clientToken = undefined;
    return { hub: stored.hub, user: stored.user, revoked, removed, ...(note ? { note } : {}) };
  }

  /** Who this desktop is on the hub, asked of the hub. */
  async whoami(signal?: AbortSignal): Promise<HubIdentity> {
    const c = this.credentials();
    if (!c) throw notSignedIn();
    const s = await this.require(signal);
    const w = await hubApi(s.hub, s.token, signal).whoami();
    return identityOf(c, w.user, { groups: w.groups });
  }
}
