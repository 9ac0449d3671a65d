// Wire types of publishing from a git repository (DLHub's `publish_repository`): the repository is
// cloned at a ref, built as any servable folder, and published with its URL and commit recorded.
import { Type, type Static } from '@sinclair/typebox';
import { HubWorkOutcome, VisibilityText } from './hub.js';

/** Publish the servable whose dlhub.json is at the root of a git repository. */
export const PublishRepositoryRequest = Type.Object({
  repo: Type.String({ minLength: 1, maxLength: 2048, description: 'an https://, ssh://, git:// or file:// URL, user@host:path, or a local folder (over a network door: in staging or a DLHUB_WORKSPACE folder)' }),
  ref: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9._/+-]{0,199}$', description: 'a branch, tag or commit; default the repository\'s HEAD' })),
  visibility: Type.Optional(VisibilityText),
}, { additionalProperties: false });
export type PublishRepositoryRequest = Static<typeof PublishRepositoryRequest>;

/** What a repository publish did: the commit built, and the publish (sent, unchanged, or queued in the outbox). */
export const PublishRepositoryOutcome = Type.Object({
  repository: Type.String({ description: 'the repository as recorded in the metadata (no credentials)' }),
  commit: Type.String({ description: 'the commit built' }),
  name: Type.String({ description: 'the servable, as dlhub.json names it' }),
  publish: HubWorkOutcome,
});
export type PublishRepositoryOutcome = Static<typeof PublishRepositoryOutcome>;
