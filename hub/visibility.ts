// Who may see a name: one rule, used by every read, the change feed and the registry's tokens.
import type { Visibility } from './contract.js';

/** A caller as the rule needs them: their name and groups, or nobody (anonymous). */
export interface Viewer {
  user: string;
  groups: ReadonlySet<string>;
}

/** Whether `viewer` may see a name of `owner` with `visibility`. */
export function canSee(visibility: Visibility, owner: string, viewer: Viewer | undefined): boolean {
  if (visibility === 'public') return true;
  if (!viewer) return false;
  if (viewer.user === owner) return true;
  if (visibility === 'private') return false;
  return visibility.groups.some((g) => viewer.groups.has(g));
}
