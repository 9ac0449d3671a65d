// Which screen shows, kept in the address's hash (#/catalog, #/servable/NAME, #/publish, #/tasks,
// #/settings) so Back, Forward and reload work. A servable's version other than its newest rides as
// `#/servable/NAME?version=V`.
import { createStore, type StoreApi } from 'zustand/vanilla';

/** A screen and its argument. */
export type Route = { screen: 'catalog' } | { screen: 'servable'; name: string; version?: string } | { screen: 'publish' } | { screen: 'tasks' } | { screen: 'settings' };

/** The route of a hash such as `#/servable/iris`; anything unknown is the catalog. */
export function parseHash(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/');
  const [screen, arg] = parts;
  if (screen === 'servable' && arg) {
    try {
      const name = decodeURIComponent(parts.slice(1).join('/'));
      const version = new URLSearchParams(search).get('version');
      return version ? { screen: 'servable', name, version } : { screen: 'servable', name };
    } catch {
      return { screen: 'catalog' };
    }
  }
  if (screen === 'publish' || screen === 'tasks' || screen === 'settings') return { screen };
  return { screen: 'catalog' };
}

/** The hash of a route. */
export function formatHash(r: Route): string {
  if (r.screen !== 'servable') return `#/${r.screen}`;
  const path = `#/servable/${r.name.split('/').map(encodeURIComponent).join('/')}`;
  return r.version ? `${path}?version=${encodeURIComponent(r.version)}` : path;
}

/** Navigation state. */
export interface NavState {
  route: Route;
  go: (r: Route) => void;
  /** The address changed (hashchange). */
  sync: (hash: string) => void;
}

/** The nav store; `setHash` writes the address (window.location in the app). */
export function createNavStore(initialHash: string, setHash: (h: string) => void): StoreApi<NavState> {
  return createStore<NavState>()((set) => ({
    route: parseHash(initialHash),
    go(r) {
      set({ route: r });
      setHash(formatHash(r));
    },
    sync(hash) {
      set({ route: parseHash(hash) });
    },
  }));
}
