import type { RunOutcome, RunRequest } from '../engine/engine.js';
import type { InitOptions, InitResult } from '../servable/init.js';
import type { ServableMetadata, MethodMetadata } from '../servable/metadata.js';
import type { RuntimeName } from '../runtime/runtime.js';
import type { SearchResult } from '../catalog/search.js';
import type { ImportReport } from '../catalog/transfer.js';
import type { MemoStats } from '../memo/memo-cache.js';

/**
 * The one typed list of operations. The CLI, the SDK, the local HTTP service (and later the IPC
 * table and gRPC) are thin doors onto an implementation of this interface.
 */
export interface Operations {
  initServable(req: InitRequest): Promise<InitResult>;
  buildServable(req: BuildRequest, onProgress?: (p: ProgressEvent) => void): Promise<BuildOutcome>;
  runServable(req: RunRequest): Promise<RunOutcome>;
  describeServable(req: { name: string }): Promise<ServableDescription>;
  listServables(): Promise<ServableSummary[]>;
  removeServable(req: { name: string }): Promise<RemoveOutcome>;
  cacheStats(): Promise<CacheStats>;
  cacheClear(req: { name?: string | undefined }): Promise<{ removed: number }>;
  searchCatalog(req: SearchRequest): Promise<SearchResult>;
  exportCatalog(req: { file: string; allVersions?: boolean | undefined }): Promise<{ file: string; written: number }>;
  importCatalog(req: { file: string }, onProgress?: (p: ProgressEvent) => void): Promise<ImportReport>;
}

/** `dlhub search`: free text, or DLHub's field syntax with `advanced`. */
export interface SearchRequest {
  query: string;
  advanced?: boolean | undefined;
  allVersions?: boolean | undefined;
  page?: number | undefined;
  pageSize?: number | undefined;
}

/** `dlhub init DIR` with every field settable without prompts. */
export type InitRequest = InitOptions & { dir: string };

/** `dlhub build DIR`. */
export interface BuildRequest {
  dir: string;
  force?: boolean | undefined;
  /** `host` prepares the files only; `docker` insists on an image; default builds an image when Docker answers. */
  runtime?: RuntimeName | undefined;
  baseImage?: string | undefined;
}

/** Progress of long work (image builds now; pulls and syncs later), for a CLI bar or a UI indicator. */
export interface ProgressEvent {
  phase: string;
  step: number;
  total: number;
  message: string;
}

/** What `dlhub build` did. */
export interface BuildOutcome {
  name: string;
  version: string | undefined;
  contentKey: string;
  /** Set when an image exists for this content after the build. */
  image: { tag: string; imageId: string; rebuilt: boolean; seconds: number } | undefined;
  /** Why no image was built, when none was. */
  imageSkipped: string | undefined;
}

/** `dlhub describe NAME`: like DLHub's describe_servable plus describe_methods. */
export interface ServableDescription {
  name: string;
  metadata: ServableMetadata;
  methods: Record<string, MethodMetadata>;
  image: { tag: string; imageId: string } | undefined;
  deterministic: boolean;
}

/** One row of `dlhub ls`. */
export interface ServableSummary {
  name: string;
  version: string | undefined;
  type: string | undefined;
  title: string | undefined;
  methods: string[];
  image: string | undefined;
  preparedAt: string;
}

/** What `dlhub rm` removed. */
export interface RemoveOutcome {
  name: string;
  imageRemoved: boolean;
  memoEntriesRemoved: number;
}

/** `dlhub cache stats`: the memo cache's figures and the file they come from. */
export interface CacheStats extends MemoStats {
  file: string;
}
