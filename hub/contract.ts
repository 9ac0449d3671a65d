// The hub's operations table, as data: each operation's request and response schemas (TypeBox, so
// they give the TypeScript types, request validation and the OpenAPI document), its HTTP route and
// who may call it. The hub's HTTP door (hub/door.ts) is made from this table, as the local API's is
// from main/contract's.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ErrorCode } from '../main/errors.js';

/** A user, group, owner or servable name: lower case, a registry path component, no `..`. */
export const NAME_PATTERN = '^(?!.*\\.\\.)[a-z0-9][a-z0-9._-]{0,63}$';
/** An image digest: `sha256:` and 64 hex digits, nothing else. */
export const DIGEST_PATTERN = '^sha256:[0-9a-f]{64}$';
/** A version label: what `metadata.dlhub.version` may hold. */
export const VERSION_PATTERN = '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$';

const Name = Type.String({ pattern: NAME_PATTERN });
const Version = Type.String({ pattern: VERSION_PATTERN });

export const Visibility = Type.Union([
  Type.Literal('public'),
  Type.Literal('private'),
  Type.Object({ groups: Type.Array(Name, { maxItems: 100 }) }, { additionalProperties: false }),
], { $id: 'Visibility' });
/** Who may see a name: everyone, its owner, or its owner and the members of some groups. */
export type Visibility = Static<typeof Visibility>;

export const ImageRef = Type.Object({
  repository: Type.String({ minLength: 1, maxLength: 256 }),
  digest: Type.String({ pattern: DIGEST_PATTERN }),
}, { additionalProperties: false, $id: 'ImageRef' });
/** Where a servable's image is: a repository of the hub's registry and the image's digest. */
export type ImageRef = Static<typeof ImageRef>;

export const ServableRecord = Type.Object({
  owner: Type.String(),
  name: Type.String(),
  version: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  image: Type.Optional(ImageRef),
  visibility: Visibility,
  createdAt: Type.String(),
  updatedAt: Type.String(),
}, { $id: 'ServableRecord' });
/** One published version as the hub answers it (a pipeline has no image: its steps are pinned OWNER/NAME@VERSION records). */
export type ServableRecord = Static<typeof ServableRecord>;

const Empty = Type.Object({}, { additionalProperties: false });
const OwnerName = Type.Object({ owner: Name, name: Name }, { additionalProperties: false });
const OwnerNameVersion = Type.Object({ owner: Name, name: Name, version: Version }, { additionalProperties: false });

export const LoginRequest = Type.Union([
  Type.Object({ user: Name, password: Type.String({ minLength: 1, maxLength: 1024 }), ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86400 })) }, { additionalProperties: false }),
  Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 128 }), clientSecret: Type.String({ minLength: 1, maxLength: 1024 }), ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86400 })) }, { additionalProperties: false }),
]);
export const LoginResult = Type.Object({ token: Type.String(), expiresAt: Type.String(), user: Type.String() });
export const Whoami = Type.Object({ user: Type.String(), groups: Type.Array(Type.String()) });

export const PublishRequest = Type.Object({
  metadata: Type.Record(Type.String(), Type.Unknown()),
  image: Type.Optional(ImageRef),
  visibility: Type.Optional(Visibility),
  idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
}, { additionalProperties: false });
/** A publish: the servable's metadata and its pushed image, or a pipeline's metadata (no image) whose steps name OWNER/NAME@VERSION. */
export type PublishRequest = Static<typeof PublishRequest>;
export const PublishResult = Type.Object({ owner: Type.String(), name: Type.String(), version: Type.String(), created: Type.Boolean() });
/** What a publish made (or found already there). */
export type PublishResult = Static<typeof PublishResult>;

export const Change = Type.Object({
  cursor: Type.String(),
  owner: Type.String(),
  name: Type.String(),
  version: Type.String(),
  deleted: Type.Optional(Type.Literal(true)),
  record: Type.Optional(ServableRecord),
}, { $id: 'Change' });
/** One entry of the change feed: the record as it is now, or a tombstone. */
export type Change = Static<typeof Change>;
export const ChangesRequest = Type.Object({
  since: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
}, { additionalProperties: false });
export const ChangesPage = Type.Object({ changes: Type.Array(Change), next: Type.String(), more: Type.Boolean() });
/** One page of the change feed. */
export type ChangesPage = Static<typeof ChangesPage>;

export const RegistryTokenRequest = Type.Object({
  service: Type.Optional(Type.String({ maxLength: 256 })),
  scope: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 20 })])),
  account: Type.Optional(Type.String({ maxLength: 256 })),
  client_id: Type.Optional(Type.String({ maxLength: 256 })),
  offline_token: Type.Optional(Type.String({ maxLength: 16 })),
}, { additionalProperties: false });
export const RegistryToken = Type.Object({ token: Type.String(), access_token: Type.String(), expires_in: Type.Integer(), issued_at: Type.String() });

/** Who may call an operation: anyone (anonymous sees public records only), or a signed-in user. */
export type Access = 'anyone' | 'user';

/** One operation of the hub's table. */
export interface HubOperationSpec {
  summary: string;
  request: TSchema;
  response: TSchema;
  errors: readonly ErrorCode[];
  http: { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string };
  access: Access;
  /** Answered as the bare object rather than `{result}` (the registry token endpoint: Docker reads it). */
  bare?: true;
}

const SEEN = ['NOT_FOUND'] as const satisfies readonly ErrorCode[];

/** Every operation of the hub, by name. */
export const HUB_OPERATIONS = {
  login: {
    summary: 'Trade a user and password (or a client id and secret) for a bearer token',
    request: LoginRequest, response: LoginResult, errors: ['RATE_LIMITED'],
    http: { method: 'POST', path: '/v1/auth/token' }, access: 'anyone',
  },
  logout: {
    summary: 'Revoke the caller\'s token',
    request: Empty, response: Type.Object({ revoked: Type.Boolean() }), errors: [],
    http: { method: 'DELETE', path: '/v1/auth/token' }, access: 'user',
  },
  whoami: {
    summary: 'The caller and their groups',
    request: Empty, response: Whoami, errors: [],
    http: { method: 'GET', path: '/v1/whoami' }, access: 'user',
  },
  registryAddress: {
    summary: 'The OCI registry this hub names (host:port), where images are pushed and pulled',
    request: Empty, response: Type.Object({ address: Type.String() }), errors: ['SERVICE_UNAVAILABLE'],
    http: { method: 'GET', path: '/v1/registry' }, access: 'anyone',
  },
  registryToken: {
    summary: 'The distribution token spec\'s endpoint: a short-lived signed token for the registry, granting only what the caller may',
    request: RegistryTokenRequest, response: RegistryToken, errors: ['SERVICE_UNAVAILABLE'],
    http: { method: 'GET', path: '/v1/registry/token' }, access: 'anyone', bare: true,
  },
  publish: {
    summary: 'Publish a servable version (metadata and image digest), or a pipeline (no image) whose steps are OWNER/NAME@VERSION records the caller may see; same content answers the existing version',
    request: PublishRequest, response: PublishResult, errors: ['FORBIDDEN', 'CONFLICT', 'NOT_FOUND'],
    http: { method: 'POST', path: '/v1/servables' }, access: 'user',
  },
  listServables: {
    summary: 'The newest visible version of each name, optionally of one owner or matching words',
    request: Type.Object({ owner: Type.Optional(Name), q: Type.Optional(Type.String({ maxLength: 200 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }),
    response: Type.Object({ servables: Type.Array(ServableRecord) }), errors: [],
    http: { method: 'GET', path: '/v1/servables' }, access: 'anyone',
  },
  getServable: {
    summary: 'The newest version of a name the caller may see',
    request: OwnerName, response: ServableRecord, errors: SEEN,
    http: { method: 'GET', path: '/v1/servables/{owner}/{name}' }, access: 'anyone',
  },
  getVersion: {
    summary: 'One version of a name the caller may see',
    request: OwnerNameVersion, response: ServableRecord, errors: SEEN,
    http: { method: 'GET', path: '/v1/servables/{owner}/{name}/versions/{version}' }, access: 'anyone',
  },
  deleteVersion: {
    summary: 'Withdraw one version (owner only); syncing clients get a tombstone',
    request: OwnerNameVersion, response: Type.Object({ owner: Type.String(), name: Type.String(), version: Type.String(), deleted: Type.Literal(true) }), errors: [...SEEN, 'FORBIDDEN'],
    http: { method: 'DELETE', path: '/v1/servables/{owner}/{name}/versions/{version}' }, access: 'user',
  },
  setVisibility: {
    summary: 'Set who may see a name (owner only)',
    request: Type.Object({ owner: Name, name: Name, visibility: Visibility }, { additionalProperties: false }), response: ServableRecord, errors: [...SEEN, 'FORBIDDEN'],
    http: { method: 'PUT', path: '/v1/servables/{owner}/{name}/visibility' }, access: 'user',
  },
  share: {
    summary: 'Share a name with a group (owner only)',
    request: Type.Object({ owner: Name, name: Name, group: Name }, { additionalProperties: false }), response: ServableRecord, errors: [...SEEN, 'FORBIDDEN'],
    http: { method: 'POST', path: '/v1/servables/{owner}/{name}/share' }, access: 'user',
  },
  changes: {
    summary: 'Every change since a cursor that concerns the caller, paged: records as they are now, tombstones for deletions and records the caller can no longer see',
    request: ChangesRequest, response: ChangesPage, errors: [],
    http: { method: 'GET', path: '/v1/changes' }, access: 'anyone',
  },
} as const satisfies Record<string, HubOperationSpec>;

/** The name of a hub operation. */
export type HubOpName = keyof typeof HUB_OPERATIONS;
/** The request of a hub operation. */
export type HubRequest<K extends HubOpName> = Static<(typeof HUB_OPERATIONS)[K]['request']>;
/** The answer of a hub operation. */
export type HubResponse<K extends HubOpName> = Static<(typeof HUB_OPERATIONS)[K]['response']>;

/** Who calls: a signed-in user (with their token's hash, for logout) or nobody. */
export interface Caller {
  user: string;
  tokenHash?: string | undefined;
}

/** What the door hands each operation besides its request. */
export interface HubContext {
  caller: Caller | undefined;
}

/** The hub's operations, as the door calls them. */
export type HubOperations = { [K in HubOpName]: (req: HubRequest<K>, ctx: HubContext) => Promise<HubResponse<K>> };
