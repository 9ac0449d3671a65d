import type { ServableMetadata, ServableFiles } from './metadata.js';
import { validateForPublish } from './validate.js';

/**
 * A servable's metadata in DLHub's published shape, ready for a DLHub service: only fields DLHub's
 * schemas define (DLHub Desktop's additions `dlhub.network` and `servable.deterministic` are left
 * out), named files under `dlhub.files` as DLHub's SDK writes them. Checked in publish mode, so what
 * it returns is what DLHub accepts.
 */
export function exportForDlhub(md: ServableMetadata): ServableMetadata {
  const out = structuredClone(md);
  delete out.dlhub.network;
  delete out.servable.deterministic;
  if (out.servable.files !== undefined) {
    // DLHub's SDK names the model (and every other file) under dlhub.files; dlhub's entry wins.
    const merged: ServableFiles = { ...out.servable.files, ...out.dlhub.files };
    const other = [...new Set([...(out.servable.files.other ?? []), ...(out.dlhub.files?.other ?? [])])];
    out.dlhub.files = { ...merged, other };
    delete out.servable.files;
  }
  out.dlhub.type ??= 'servable';
  return validateForPublish(out);
}
