import { NotFoundError } from '../../errors.js';
import type { Catalog } from '../../catalog/catalog.js';
import type { DoctorReport, FitReport, ServableMetadata } from '../../contract/index.js';
import { clusterFit } from '../../cluster/fit.js';
import type { ClusterInfo } from '../../contract/clusters.js';
import { declaredResources, fitReport } from '../../runtime/hardware.js';
import { getLocal } from '../../servable/registry.js';
import type { HomePaths } from '../../storage/home.js';

/**
 * Whether a servable built here, else one the catalog knows (`catalogEntry` finds it by name), can
 * run on the machine `doctor` describes and on each of its clusters (`clusters` has their settings),
 * and why not. Nothing is pulled or started.
 */
export async function fitServable(
  paths: HomePaths, catalogEntry: (name: string) => ReturnType<Catalog['get']>, name: string, machine: () => Promise<DoctorReport>,
  clusters: () => ClusterInfo[] = () => [],
): Promise<FitReport> {
  let found: { name: string; source: 'local' | 'catalog'; metadata: ServableMetadata };
  try {
    const s = getLocal(paths, name);
    found = { name: s.name, source: 'local', metadata: s.metadata };
  } catch (err) {
    const entry = err instanceof NotFoundError && err.code === 'SERVABLE_NOT_FOUND' ? catalogEntry(name) : undefined;
    if (!entry) throw err;
    found = { name: entry.servable, source: 'catalog', metadata: entry.metadata };
  }
  const report = await machine();
  const fit = fitReport(found.name, found.source, found.metadata, report);
  const resources = declaredResources(found.metadata);
  for (const cluster of clusters()) {
    const seen = report.clusters.find((c) => c.name === cluster.name);
    if (seen) fit.targets.push(clusterFit(cluster, seen, resources));
  }
  return fit;
}
