import type Docker from 'dockerode';
import { Engine } from '../engine/engine.js';
import { assertClusterIdle } from '../cluster/batch.js';
import { ClusterStore } from '../cluster/store.js';
import { clusterReport } from '../cluster/slurm.js';
import type { ClusterInfo, ClusterReport, ClusterSpec } from '../contract/clusters.js';
import type { RunOutcome, RunRequest } from '../contract/index.js';
import { isPipeline, PIPELINE_NO_IMAGE, preparePipeline } from '../engine/pipeline.js';
import { loadSettings, type Settings } from '../engine/settings.js';
import { MemoCache } from '../memo/memo-cache.js';
import { prepareContext } from '../packager/context.js';
import { withFrameworkBase } from '../packager/framework-images.js';
import { dockerHasGpuRuntime, doctorReport } from '../runtime/hardware.js';
import type { DoctorReport, FitReport } from '../contract/index.js';
import { fitServable } from './ops/hardware-fit.js';
import { RuntimeRegistry, type RuntimeAvailability } from '../runtime/registry.js';
import { initServable, type InitResult } from '../servable/init.js';
import { loadMetadataFile } from '../servable/validate.js';
import { forgetLocalCached, getLocal, removeLocalFiles, servableRoot, writePrepared } from '../servable/registry.js';
import { ensureHome, homePaths, type HomePaths } from '../storage/home.js';
import { resolveDoorPath, type DoorPathUse } from '../storage/door-paths.js';
import { stageUpload } from '../storage/staging.js';
import { Catalog } from '../catalog/catalog.js';
import type { QueryHelper } from '../catalog/query-helper.js';
import { servableKey } from '../catalog/record.js';
import type { SearchResult } from '../catalog/search.js';
import type { ImportReport } from '../catalog/transfer.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type {
  BatchItem, BuildOutcome, BuildRequest, CacheStats, CallContext, InitRequest, Operations, OpRequest, OpResponse, RemoveOutcome, SearchRequest, ServableDescription, ServableSummary,
} from './operations.js';
import { listenerStream } from './doors/listener-stream.js';
import { batchResults } from './ops/task-batches.js';
import { catalogEntry, describeServable, servableSummaries } from './ops/servable-info.js';
import { publishRepository } from './ops/publish-repository.js';
import type { TaskInfo } from '../contract/index.js';
import { HubClient } from '../hub/hub-client.js';
import { GrpcDoorControl, readTlsPair } from './doors/grpc/control.js';

/** How to build a DLHub instance; everything has a default. */
export interface DlhubOptions {
  home?: string | undefined;
  settings?: Partial<Settings> | undefined;
  docker?: Docker | undefined;
  /** Default base image for builds (else DLHUB_BASE_IMAGE, else python:3.11-slim). */
  baseImage?: string | undefined;
}

/**
 * The SDK and the composition root: one object that implements every operation, built with its
 * storage, cache, runtimes and engine. The CLI and the local service call this, nothing deeper.
 */
export class Dlhub implements Operations {
  readonly paths: HomePaths;
  readonly settings: Settings;
  private readonly runtimes: RuntimeRegistry;
  /** Named base image (option or DLHUB_BASE_IMAGE); else chosen per build, offline first. */
  private readonly baseImage: string | undefined;
  private memoCache: MemoCache | undefined;
  private catalogInstance: Catalog | undefined;
  private engineInstance: Engine | undefined;
  private hubInstance: HubClient | undefined;
  private clusterStore: ClusterStore | undefined;
  private grpcControl: GrpcDoorControl | undefined;

  constructor(opts: DlhubOptions = {}) {
    this.paths = ensureHome(homePaths(opts.home));
    this.settings = { ...loadSettings(), ...opts.settings };
    this.baseImage = opts.baseImage ?? (process.env['DLHUB_BASE_IMAGE'] || undefined);
    this.runtimes = RuntimeRegistry.standard({
      home: this.paths.root,
      docker: opts.docker,
      runDir: this.paths.run,
      logDir: this.paths.logs,
      defaults: { memoryBytes: this.settings.workerMemoryBytes, pidsLimit: this.settings.workerPidsLimit },
    });
  }

  /** Each runtime, most preferred first, with whether it can run servables now, why not, and its version. */
  async listRuntimes(): Promise<RuntimeAvailability[]> {
    return this.runtimes.availability();
  }

  /** The clusters added on this machine (state.db), opened on first use. */
  private get clusters(): ClusterStore {
    this.clusterStore ??= new ClusterStore(this.paths);
    return this.clusterStore;
  }

  /** Add (or replace) a cluster batches can be sent to with `on`. */
  async addCluster(req: ClusterSpec): Promise<ClusterInfo> {
    return this.clusters.add(req);
  }

  /** The clusters added, each with whether its scheduler answers now, its partitions and GPUs. */
  async listClusters(): Promise<{ cluster: ClusterInfo; report: ClusterReport }[]> {
    return Promise.all(this.clusters.list().map(async (cluster) => ({ cluster, report: await clusterReport(cluster) })));
  }

  /** Forget a cluster; refused (CONFLICT) while a batch of this machine runs there. */
  async removeCluster(req: { name: string }): Promise<{ removed: boolean }> {
    assertClusterIdle(this.clusters.get(req.name));
    return { removed: this.clusters.remove(req.name) };
  }

  /** What this machine offers servables: CPUs, RAM, free disk, NVIDIA GPUs, the runtimes with their versions, and each cluster added. */
  async doctor(): Promise<DoctorReport> {
    const [runtimes, dockerGpu, clusters] = await Promise.all([
      this.runtimes.availability(),
      this.runtimes.probeClient().then(dockerHasGpuRuntime),
      Promise.all(this.clusters.list().map(clusterReport)),
    ]);
    return doctorReport(this.paths.root, runtimes, dockerGpu, clusters);
  }

  /** Whether a local servable, else a catalog one, can run on this machine and on each cluster, and why not; nothing is pulled or started. */
  async fitServable(req: { name: string }): Promise<FitReport> {
    return fitServable(this.paths, (n) => catalogEntry(this.catalog, n), req.name, () => this.doctor(), () => this.clusters.list());
  }

  /** The memo cache, opened on first use so commands that never run a model never touch memo.db. */
  get memo(): MemoCache {
    this.memoCache ??= MemoCache.open(this.paths.memoDb);
    return this.memoCache;
  }

  /** The catalog (state.db and its saved search index), opened on first use. */
  get catalog(): Catalog {
    this.catalogInstance ??= Catalog.open(this.paths);
    return this.catalogInstance;
  }

  private get engine(): Engine {
    this.engineInstance ??= new Engine(this.paths, this.settings, this.memo, this.runtimes, (name) => this.clusters.get(name));
    return this.engineInstance;
  }

  /**
   * Take over the tasks of processes that are gone (a killed `dlhub serve` or CLI): unfinished
   * deterministic tasks run again here, the rest are marked failed with the reason. `dlhub serve` calls it at start.
   */
  recoverTasks(): string[] {
    return this.engine.recover();
  }

  /** Write dlhub.json for a model folder. */
  async initServable(req: InitRequest, ctx?: CallContext): Promise<InitResult> {
    const { dir, ...opts } = req;
    return initServable(await this.doorPath(dir, ctx, 'folder'), { ...opts, remote: ctx?.remote === true });
  }

  /** A path named in a request, as this caller may use it: over a network door only staging and DLHUB_WORKSPACE folders. */
  private doorPath(path: string, ctx: CallContext | undefined, use: DoorPathUse): Promise<string> {
    return resolveDoorPath(path, { remote: ctx?.remote, paths: this.paths, workspaces: this.settings.workspaces, use });
  }

  /** Prepare the servable's files, and build its image when Docker answers. */
  async buildServable(req: BuildRequest, call?: CallContext): Promise<BuildOutcome> {
    const onProgress = call?.onProgress;
    const dir = await this.doorPath(req.dir, call, 'folder');
    const metadata = loadMetadataFile(join(dir, 'dlhub.json'));
    // Pipelines (main/engine/pipeline.ts) build no image: their steps are checked and recorded.
    if (isPipeline(metadata)) {
      const { contentKey, metadata: recorded } = await preparePipeline(this.paths, dir, metadata);
      this.catalog.upsert(recorded, { local: true });
      return { name: metadata.dlhub.name, version: metadata.dlhub.version, contentKey, image: undefined, imageSkipped: PIPELINE_NO_IMAGE };
    }
    const base = await withFrameworkBase(await this.runtimes.chooseBaseImage(req.baseImage ?? this.baseImage), metadata, { docker: await this.runtimes.probeClient(), onProgress });
    const baseImage = base.image;
    if (base.note) onProgress?.({ phase: 'prepare', step: 0, total: 1, message: base.note });
    onProgress?.({ phase: 'prepare', step: 0, total: 1, message: 'Preparing build context' });
    const ctx = await prepareContext(dir, metadata, { home: this.paths, baseImage, acceptInstalled: req.acceptInstalled, docker: req.acceptInstalled ? await this.runtimes.probeClient() : undefined });
    writePrepared(this.paths, {
      name: metadata.dlhub.name,
      version: metadata.dlhub.version,
      contentKey: ctx.contentKey,
      tag: ctx.tag,
      sourceDir: dir,
      preparedAt: new Date().toISOString(),
    });
    // A local build is searchable at once, marked local until it is published.
    this.catalog.upsert(metadata, { local: true });
    const outcome: BuildOutcome = { name: metadata.dlhub.name, version: metadata.dlhub.version, contentKey: ctx.contentKey, image: undefined, imageSkipped: undefined };
    const made = await this.runtimes.build(ctx, req.runtime, { force: req.force ?? false, onProgress: (p) => onProgress?.({ phase: 'build', ...p }) });
    if (made.image) forgetLocalCached(this.paths, metadata.dlhub.name); // build.json changed: the next run must see the new image
    return { ...outcome, image: made.image, imageSkipped: made.skipped };
  }

  /** Run a servable (see Engine.run); `timeoutMs` bounds the call, a caller that leaves (`ctx.signal`) cancels it. */
  async runServable(req: RunRequest, ctx: CallContext = {}): Promise<RunOutcome> {
    return this.engine.run(req, { signal: ctx.signal });
  }

  /** Submit a call as a task persisted in state.db; answers at once. */
  async submitTask(req: OpRequest<'submitTask'>): Promise<TaskInfo> {
    return this.engine.submit(req);
  }

  /** One task's state. */
  async getTask(req: OpRequest<'getTask'>): Promise<TaskInfo> {
    return this.engine.task(req.id);
  }

  /** A finished task's outcome, or its error re-raised; waits up to `waitMs` for an unfinished one. */
  async getResult(req: OpRequest<'getResult'>): Promise<RunOutcome> {
    return this.engine.result(req.id, req.waitMs === undefined ? {} : { waitMs: req.waitMs });
  }

  /** Cancel a pending or running task. */
  async cancelTask(req: OpRequest<'cancelTask'>): Promise<TaskInfo> {
    return this.engine.cancel(req.id);
  }

  /** Recent tasks, optionally of one status. */
  async listTasks(req: OpRequest<'listTasks'> = {}): Promise<TaskInfo[]> {
    return this.engine.tasks.list(req);
  }

  /** Task state changes as they happen in this process, until the caller stops reading or leaves. */
  watchTasks(_req: OpRequest<'watchTasks'>, ctx: CallContext = {}): AsyncIterable<TaskInfo> {
    return listenerStream((listener) => this.engine.tasks.subscribe(listener), ctx.signal, (t) => t.id);
  }

  /** Workers, queue, tasks and limits, plus the memo cache's figures. */
  async status(): Promise<OpResponse<'status'>> {
    return { ...this.engine.status(), cache: await this.cacheStats() };
  }

  /** Submit many calls (Globus Compute's batch_run): one task id per call, in order. */
  async batchRun(req: OpRequest<'batchRun'>): Promise<{ taskIds: string[] }> {
    return { taskIds: req.tasks.map((t) => this.engine.submit(t).id) };
  }

  /** The state of many tasks (Globus Compute's get_batch_result): finished ones carry their outcome or typed error. */
  async getBatchResult(req: OpRequest<'getBatchResult'>): Promise<{ results: Record<string, BatchItem> }> {
    return batchResults(this.engine, req);
  }

  /** Full metadata and methods of a local servable (or of one the catalog knows). */
  async describeServable(req: { name: string }): Promise<ServableDescription> {
    return describeServable(this.paths, () => this.catalog, req.name);
  }

  /** Every servable prepared on this machine. */
  async listServables(): Promise<ServableSummary[]> {
    return servableSummaries(this.paths);
  }

  /** Remove a servable's files, its image and its memo entries. */
  async removeServable(req: { name: string }): Promise<RemoveOutcome> {
    const s = getLocal(this.paths, req.name);
    // Only this servable's workers stop: calls to other servables in this process go on.
    await this.engineInstance?.stopServable(s.name);
    // Only this home's tag goes; the image itself when no other home uses it. The files and cache entries go either way.
    const image = await this.runtimes.remove(s);
    const memoEntriesRemoved = this.memo.clear(s.name);
    const key = servableKey(s.metadata);
    // Only the local build's record goes; a version that came from the hub stays findable (a pulled one as a record not here).
    if (this.catalog.get(key, s.metadata.dlhub.version)?.local) {
      if (existsSync(join(servableRoot(this.paths, s.name), 'hub.json'))) this.catalog.upsert(s.metadata, { local: false });
      else this.catalog.remove(key, s.metadata.dlhub.version);
    }
    removeLocalFiles(this.paths, s.name);
    return { name: s.name, imageRemoved: image.removed, ...(image.kept ? { imageKept: image.kept } : {}), memoEntriesRemoved };
  }

  /** Memo cache figures. */
  async cacheStats(): Promise<CacheStats> {
    return { file: this.paths.memoDb, ...this.memo.stats() };
  }

  /** Empty the memo cache, or one servable's part of it. */
  async cacheClear(req: { name?: string | undefined }): Promise<{ removed: number }> {
    return { removed: this.memo.clear(req.name) };
  }

  /** Search the catalog offline (DLHub's `search`). */
  async searchCatalog(req: SearchRequest): Promise<SearchResult> {
    return this.catalog.search(req.query, { advanced: req.advanced ?? false, allVersions: req.allVersions ?? false, page: req.page, pageSize: req.pageSize });
  }

  /** DLHub's `search(text, advanced)`, for SDK users. */
  search(text: string, opts: { advanced?: boolean; allVersions?: boolean; page?: number; pageSize?: number } = {}): SearchResult {
    return this.catalog.search(text, opts);
  }

  /** DLHub's `client.query`: a query helper whose `search()` runs here. */
  get query(): QueryHelper {
    return this.catalog.query();
  }

  /** Write the catalog as JSON Lines, for a machine that never goes online. */
  async exportCatalog(req: { file: string; allVersions?: boolean | undefined }, ctx?: CallContext): Promise<{ file: string; written: number }> {
    const file = await this.doorPath(req.file, ctx, 'write-file');
    return { file, written: await this.catalog.export(file, { allVersions: req.allVersions ?? false }) };
  }

  /** Read a JSON Lines catalog: each line validated, bad lines reported by number and skipped. */
  async importCatalog(req: { file: string }, ctx?: CallContext): Promise<ImportReport> {
    const onProgress = ctx?.onProgress;
    return this.catalog.import(await this.doorPath(req.file, ctx, 'read-file'), {
      signal: ctx?.signal,
      ...(onProgress
        ? { onProgress: (p) => onProgress({ phase: 'import', step: p.bytesRead, total: p.totalBytes, message: `${p.imported} records, ${p.skipped} skipped` }) }
        : {}),
    });
  }

  /** Write an uploaded folder into a new folder under $DLHUB_HOME/staging (browser mode's dropped folder). */
  async uploadFolder(req: OpRequest<'uploadFolder'>): Promise<OpResponse<'uploadFolder'>> {
    return stageUpload(this.paths.staging, req);
  }

  /** The hub client (sign-in, publish, outbox, pull, sync), built on first use. */
  get hub(): HubClient {
    this.hubInstance ??= new HubClient({ paths: this.paths, docker: () => this.runtimes.probeClient(), catalog: () => this.catalog });
    return this.hubInstance;
  }

  async hubStatus(): Promise<OpResponse<'hubStatus'>> { return this.hub.status(); }
  async hubLogin(req: OpRequest<'hubLogin'>, ctx?: CallContext): Promise<OpResponse<'hubLogin'>> { return this.hub.login(req, ctx); }
  async hubLogout(_req: OpRequest<'hubLogout'>, ctx?: CallContext): Promise<OpResponse<'hubLogout'>> { return this.hub.logout(ctx); }
  async hubWhoami(_req: OpRequest<'hubWhoami'>, ctx?: CallContext): Promise<OpResponse<'hubWhoami'>> { return this.hub.whoami(ctx); }
  async publishServable(req: OpRequest<'publishServable'>, ctx?: CallContext): Promise<OpResponse<'publishServable'>> { return this.hub.publish(req, ctx); }
  /** Clone a git repository, build its servable and publish it with its URL and commit recorded (see ops/publish-repository.ts). */
  async publishRepository(req: OpRequest<'publishRepository'>, ctx?: CallContext): Promise<OpResponse<'publishRepository'>> {
    return publishRepository({
      paths: this.paths,
      doorFolder: (path, c) => this.doorPath(path, c, 'folder'),
      build: (r, c) => this.buildServable(r, c),
      publish: (r, c) => this.hub.publish(r, c),
    }, req, ctx);
  }
  async shareServable(req: OpRequest<'shareServable'>, ctx?: CallContext): Promise<OpResponse<'shareServable'>> { return this.hub.share(req, ctx); }
  async pullServable(req: OpRequest<'pullServable'>, ctx?: CallContext): Promise<OpResponse<'pullServable'>> { return this.hub.pull(req, ctx); }
  async syncCatalog(_req: OpRequest<'syncCatalog'>, ctx?: CallContext): Promise<OpResponse<'syncCatalog'>> { return this.hub.sync(ctx); }
  async listOutbox(): Promise<OpResponse<'listOutbox'>> { return this.hub.listOutbox(); }
  async drainOutbox(): Promise<OpResponse<'drainOutbox'>> { return this.hub.drain({ force: true }); }

  /** The instruments' gRPC door of this process (`dlhub serve --grpc` and startGrpc both start it here). */
  get grpc(): GrpcDoorControl {
    this.grpcControl ??= new GrpcDoorControl({ api: this, stateDb: this.paths.stateDb, maxFrameBytes: this.settings.maxInputBytes });
    return this.grpcControl;
  }

  async grpcStatus(): Promise<OpResponse<'grpcStatus'>> { return this.grpc.status(); }
  /** Start the gRPC door; certificate paths are read as this caller may reach them, a network caller starts it on loopback only. */
  async startGrpc(req: OpRequest<'startGrpc'>, ctx?: CallContext): Promise<OpResponse<'startGrpc'>> {
    const tls = await readTlsPair(req.cert, req.key, (p) => this.doorPath(p, ctx, 'read-file'));
    return this.grpc.start({ address: req.address ?? '127.0.0.1:0', tls, remote: ctx?.remote === true });
  }
  async stopGrpc(): Promise<OpResponse<'stopGrpc'>> { return this.grpc.stop(0); }

  /** Stop workers and close files. */
  async close(): Promise<void> {
    // Instruments stop first: no frame reaches an engine that is closing.
    await this.grpcControl?.close();
    this.grpcControl = undefined;
    await this.hubInstance?.close();
    this.hubInstance = undefined;
    await this.engineInstance?.close();
    this.memoCache?.close();
    this.memoCache = undefined;
    this.catalogInstance?.close();
    this.catalogInstance = undefined;
    this.clusterStore?.close();
    this.clusterStore = undefined;
  }
}
