// Wire types of the desktop's hub verbs: sign in, publish, share, pull, sync and the outbox of work
// waiting for the hub. The hub's own API is another program's (hub/contract.ts); these are what the
// local doors (CLI, SDK, HTTP API, the window) carry.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ServableName } from './schemas.js';

const Opt = <T extends TSchema>(s: T) => Type.Optional(s);
const strict = { additionalProperties: false } as const;

/** A hub's address: an http(s) URL. */
export const HubUrl = Type.String({ minLength: 1, maxLength: 512, pattern: '^https?://', description: 'the hub\'s address, e.g. http://127.0.0.1:8770' });

/** Sign in: a user and password, or a client id and secret (headless), or an existing token. */
export const HubLoginRequest = Type.Object({
  hub: HubUrl,
  user: Opt(Type.String({ minLength: 1, maxLength: 64 })),
  password: Opt(Type.String({ minLength: 1, maxLength: 1024, description: 'sent to the hub once for a token; never stored' })),
  clientId: Opt(Type.String({ minLength: 1, maxLength: 128 })),
  clientSecret: Opt(Type.String({ minLength: 1, maxLength: 1024 })),
  token: Opt(Type.String({ minLength: 1, maxLength: 1024, description: 'an existing hub token, checked and stored' })),
}, strict);
export type HubLoginRequest = Static<typeof HubLoginRequest>;

/** Who this desktop is on the hub, and where the credentials come from. */
export const HubIdentity = Type.Object({
  hub: Type.String(),
  user: Type.String(),
  groups: Opt(Type.Array(Type.String())),
  expiresAt: Opt(Type.String({ description: 'when the token stops working (ISO 8601)' })),
  source: Type.Union([Type.Literal('file'), Type.Literal('env-token'), Type.Literal('env-client')], { description: 'the credentials file, DLHUB_TOKEN, or DLHUB_CLIENT_ID/DLHUB_CLIENT_SECRET' }),
}, { $id: 'HubIdentity' });
export type HubIdentity = Static<typeof HubIdentity>;

/** What signing out did. */
export const HubLogoutOutcome = Type.Object({
  hub: Opt(Type.String()),
  user: Opt(Type.String()),
  revoked: Type.Boolean({ description: 'the hub revoked the token' }),
  removed: Type.Boolean({ description: 'the credentials file was deleted' }),
  note: Opt(Type.String()),
});
export type HubLogoutOutcome = Static<typeof HubLogoutOutcome>;

/** Who may see a published servable: `public`, `private` or `group:NAME`. */
export const VisibilityText = Type.String({ pattern: '^(public|private|group:[a-z0-9][a-z0-9._-]{0,63})$', description: 'public, private, or group:GROUP' });

/** Publish a local servable to the hub. */
export const PublishRequest = Type.Object({
  name: ServableName,
  visibility: Opt(VisibilityText),
}, strict);
export type PublishRequest = Static<typeof PublishRequest>;

/** What a publish (or a share) did: sent now, already there, or queued in the outbox for when the hub is back. */
export const HubWorkOutcome = Type.Object({
  status: Type.Union([Type.Literal('published'), Type.Literal('unchanged'), Type.Literal('shared'), Type.Literal('queued')]),
  name: Type.String(),
  owner: Opt(Type.String()),
  version: Opt(Type.String()),
  digest: Opt(Type.String({ description: 'the image digest the hub records' })),
  outboxId: Opt(Type.Integer({ description: 'the outbox entry, when queued' })),
  reason: Opt(Type.String({ description: 'why it was queued' })),
}, { $id: 'HubWorkOutcome' });
export type HubWorkOutcome = Static<typeof HubWorkOutcome>;

/** Share a published servable with a group. */
export const ShareRequest = Type.Object({ name: ServableName, group: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }) }, strict);
export type ShareRequest = Static<typeof ShareRequest>;

/** Pull `OWNER/NAME[@VERSION]` from the hub. */
export const PullRequest = Type.Object({ ref: Type.String({ minLength: 3, maxLength: 260, description: 'OWNER/NAME or OWNER/NAME@VERSION' }) }, strict);
export type PullRequest = Static<typeof PullRequest>;

/** What a pull made: the servable registered here under `name`, its image verified by digest. */
export const PullOutcome = Type.Object({
  owner: Type.String(),
  name: Type.String(),
  version: Type.String(),
  digest: Type.String(),
  imageId: Type.String(),
  unchanged: Type.Boolean({ description: 'this version was already here' }),
  steps: Opt(Type.Array(Type.String(), { description: 'a pipeline\'s steps, OWNER/NAME@VERSION, pulled with it (a pipeline has no image: digest and imageId are empty)' })),
});
export type PullOutcome = Static<typeof PullOutcome>;

/** What a sync of the catalog with the hub's change feed did. */
export const SyncOutcome = Type.Object({
  hub: Type.String(),
  upserted: Type.Integer(),
  removed: Type.Integer(),
  skipped: Type.Integer({ description: 'records the catalog refused (invalid metadata)' }),
  pages: Type.Integer(),
  cursor: Type.String(),
  syncedAt: Type.String(),
});
export type SyncOutcome = Static<typeof SyncOutcome>;

/** One piece of work waiting for (or sent to) the hub. */
export const OutboxItem = Type.Object({
  id: Type.Integer(),
  kind: Type.Union([Type.Literal('publish'), Type.Literal('share')]),
  name: Type.String(),
  detail: Type.String({ description: 'the visibility or group' }),
  status: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  nextAttemptAt: Opt(Type.String()),
  lastError: Opt(Type.String()),
  result: Opt(HubWorkOutcome),
  createdAt: Type.String(),
  updatedAt: Type.String(),
}, { $id: 'OutboxItem' });
export type OutboxItem = Static<typeof OutboxItem>;

/** The outbox, newest first; `drained` counts what a drain just sent. */
export const OutboxList = Type.Object({ items: Type.Array(OutboxItem), sent: Opt(Type.Integer()), failed: Opt(Type.Integer()) });
export type OutboxList = Static<typeof OutboxList>;

/** How this desktop keeps its hub token: a 0600 file, or the OS keychain (the window), with any warning. */
export const CredentialStoreInfo = Type.Object({
  kind: Type.Union([Type.Literal('file'), Type.Literal('os-keychain')]),
  encrypted: Type.Boolean({ description: 'encrypted with a key the OS keeps' }),
  backend: Opt(Type.String({ description: 'the keychain backend (Linux: gnome_libsecret, kwallet, or basic_text, its plain-text fallback)' })),
  warning: Opt(Type.String()),
});
export type CredentialStoreInfo = Static<typeof CredentialStoreInfo>;

/** Whether the hub answers, who is signed in, when the catalog last synced, and the outbox's size. */
export const HubStatus = Type.Object({
  hub: Opt(Type.String()),
  user: Opt(Type.String()),
  online: Type.Boolean(),
  lastSync: Opt(Type.String()),
  queued: Type.Integer(),
  failed: Type.Integer(),
  credentials: Opt(CredentialStoreInfo),
});
export type HubStatus = Static<typeof HubStatus>;
