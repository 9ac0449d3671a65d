import { NotFoundError } from '../../errors.js';
import type { Catalog } from '../../catalog/catalog.js';
import type { DoctorReport, FitReport, ServableMetadata } from '../../contract/index.js';
import { fitReport } from '../../runtime/hardware.js';
import { getLocal } from '../../servable/registry.js';
import type { HomePaths } from '../../storage/home.js';

/**
 * Whether a servable built here, else one the catalog knows (`catalogEntry` finds it by name), can
 * run on the machine `doctor` describes, and why not. Nothing is pulled or started.
 */
export async function fitServable(
  paths: HomePaths, catalogEntry: (name: string) => ReturnType<Catalog['get']>, name: string, machine: () => Promise<DoctorReport>,
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
  return fitReport(found.name, found.source, found.metadata, await machine());
}
