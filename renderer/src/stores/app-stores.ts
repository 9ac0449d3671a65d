// Every store of the window, built once over one `Ops` and handed to components through context.
import type { StoreApi } from 'zustand/vanilla';
import type { Ops } from '../client/ops.js';
import { createCatalogStore, type CatalogState } from './catalog.js';
import { createConnectionStore, type ConnectionState } from './connection.js';
import { createNavStore, type NavState } from './nav.js';
import { createPublishStore, type PublishState } from './publish.js';
import { createServableStore, type ServableState } from './servable.js';
import { createSettingsStore, type SettingsState } from './settings.js';
import { createTasksStore, type TasksState } from './tasks.js';
import { createHubStore, type HubState } from './hub.js';
import { createGrpcStore, type GrpcState } from './grpc.js';
import { createClustersStore, type ClustersState } from './clusters.js';
import { createFitStore, type FitState } from './fit.js';
import { createBatchStore, type BatchState } from './batch.js';
import { createAnswersStore, type AnswersState } from './answers.js';

/** One store per concern. */
export interface AppStores {
  connection: StoreApi<ConnectionState>;
  nav: StoreApi<NavState>;
  catalog: StoreApi<CatalogState>;
  servable: StoreApi<ServableState>;
  publish: StoreApi<PublishState>;
  tasks: StoreApi<TasksState>;
  settings: StoreApi<SettingsState>;
  hub: StoreApi<HubState>;
  grpc: StoreApi<GrpcState>;
  clusters: StoreApi<ClustersState>;
  fit: StoreApi<FitState>;
  batch: StoreApi<BatchState>;
  answers: StoreApi<AnswersState>;
}

/** Build the stores; failures anywhere reach the connection store (service down, signed out). */
export function createAppStores(ops: Ops, hash: string, setHash: (h: string) => void): AppStores {
  const connection = createConnectionStore(ops);
  const report = (err: unknown): void => connection.getState().report(err);
  const catalog = createCatalogStore(ops, report);
  // What changes the local catalog (a build, a sync, a pull) has the catalog search again, so it never shows an old version.
  const catalogChanged = (): void => void catalog.getState().refresh();
  const publish = createPublishStore(ops, report);
  publish.subscribe((now, before) => {
    if (now.phase === 'built' && before.phase !== 'built') catalogChanged();
  });
  return {
    connection,
    nav: createNavStore(hash, setHash),
    catalog,
    servable: createServableStore(ops, report),
    publish,
    tasks: createTasksStore(ops, { report }),
    settings: createSettingsStore(ops, report),
    hub: createHubStore(ops, report, catalogChanged),
    grpc: createGrpcStore(ops, report),
    clusters: createClustersStore(ops, report),
    fit: createFitStore(ops),
    batch: createBatchStore(ops, { report }),
    answers: createAnswersStore(ops),
  };
}
