// Uploading a folder into the service's staging folder: how a folder dropped on the window in
// browser mode reaches the engine (Electron hands the engine the folder's path instead).
// Browser-safe: the renderer checks the same limits before it sends anything.
import { Type, type Static } from '@sinclair/typebox';

/** Fixed limits of one upload: a request body must stay under the door's 64 MiB once base64-encoded. */
export const UPLOAD_LIMITS = {
  /** Files in one upload. */
  files: 5000,
  /** Bytes of all files together (before encoding). */
  bytes: 32 * 1024 * 1024,
  /** Characters of one relative path. */
  pathLength: 1024,
  /** Folders deep. */
  depth: 32,
} as const;

/** One file of an upload: its path relative to the dropped folder, and its bytes. */
export const UploadFile = Type.Object(
  {
    path: Type.String({ minLength: 1, maxLength: UPLOAD_LIMITS.pathLength, description: 'relative path with "/" separators: no "..", no absolute names' }),
    data: Type.Unknown({ description: 'the file\'s bytes, as {"$bytes": base64}' }),
  },
  { additionalProperties: false },
);
export type UploadFile = Static<typeof UploadFile>;

/** `uploadFolder`: a folder's files, written into a new folder under `$DLHUB_HOME/staging`. */
export const UploadRequest = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 64, description: 'a label for the staged folder (the dropped folder\'s name)' })),
    files: Type.Array(UploadFile, { minItems: 1, maxItems: UPLOAD_LIMITS.files }),
  },
  { additionalProperties: false },
);
export type UploadRequest = Static<typeof UploadRequest>;

/** Where the files landed: a path the network doors accept for initServable and buildServable. */
export const UploadOutcome = Type.Object({
  dir: Type.String({ description: 'the staged folder on the serving machine' }),
  files: Type.Integer({ minimum: 0 }),
  bytes: Type.Integer({ minimum: 0 }),
});
export type UploadOutcome = Static<typeof UploadOutcome>;
