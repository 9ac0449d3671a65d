import { useEffect, useState, type DragEvent } from 'react';
import { Banner } from './components/banner.js';
import { useApp, useAppContext } from './components/context.js';
import { readDataTransfer } from './lib/dropped.js';
import { CatalogScreen } from './screens/catalog.js';
import { PublishScreen } from './screens/publish.js';
import { ServableScreen } from './screens/servable.js';
import { SettingsScreen } from './screens/settings.js';
import { TasksScreen } from './screens/tasks.js';
import type { Route } from './stores/nav.js';

const NAV: { screen: Route['screen']; label: string; key: string }[] = [
  { screen: 'catalog', label: 'Catalog', key: '1' },
  { screen: 'publish', label: 'Publish', key: '2' },
  { screen: 'tasks', label: 'Tasks', key: '3' },
  { screen: 'settings', label: 'Settings', key: '4' },
];

const readBytes = async (b: Blob): Promise<Uint8Array> => new Uint8Array(await b.arrayBuffer());

/** The window: navigation, the service banner, the current screen; a folder dropped anywhere goes to Publish. */
export function App() {
  const { stores, mode, pathForFile } = useAppContext();
  const route = useApp((s) => s.nav, (n) => n.route);
  const go = useApp((s) => s.nav, (n) => n.go);
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    const onHash = (): void => stores.nav.getState().sync(location.hash);
    const onKey = (e: KeyboardEvent): void => {
      const typing = e.target instanceof HTMLElement && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
      if (e.key === '/' && !typing) {
        e.preventDefault();
        stores.nav.getState().go({ screen: 'catalog' });
        setTimeout(() => document.getElementById('search')?.focus(), 0);
      } else if (e.altKey && !e.ctrlKey && !e.metaKey) {
        const item = NAV.find((n) => n.key === e.key);
        if (item) {
          e.preventDefault();
          stores.nav.getState().go({ screen: item.screen } as Route);
        }
      }
    };
    window.addEventListener('hashchange', onHash);
    window.addEventListener('keydown', onKey);
    void stores.connection.getState().check();
    return () => {
      window.removeEventListener('hashchange', onHash);
      window.removeEventListener('keydown', onKey);
      stores.connection.getState().stop();
    };
  }, [stores]);

  const onDrop = (e: DragEvent<HTMLDivElement>): void => {
    e.preventDefault();
    setDragging(false);
    const publish = stores.publish.getState();
    go({ screen: 'publish' });
    const first = e.dataTransfer.files[0];
    if (mode === 'electron' && pathForFile && first) {
      const path = pathForFile(first);
      void publish.dropPath(path, path.split(/[\\/]/).filter(Boolean).pop() ?? 'servable');
      return;
    }
    void readDataTransfer(e.dataTransfer).then((d) => publish.dropFiles(d, readBytes), (err: unknown) => stores.connection.getState().report(err));
  };

  return (
    <div
      className={dragging ? 'app dragging' : 'app'}
      onDragOver={(e) => {
        if ([...e.dataTransfer.types].includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={onDrop}
      data-testid="app"
    >
      <a className="skip" href="#main">Skip to content</a>
      <nav className="sidebar" aria-label="Screens">
        <div className="brand">DLHub <span>Desktop</span></div>
        <ul>
          {NAV.map((n) => (
            <li key={n.screen}>
              <a
                href={`#/${n.screen}`}
                aria-current={route.screen === n.screen || (n.screen === 'catalog' && route.screen === 'servable') ? 'page' : undefined}
                aria-keyshortcuts={`Alt+${n.key}`}
              >
                {n.label}
              </a>
            </li>
          ))}
        </ul>
        <p className="mode muted small" data-testid="mode">{mode === 'electron' ? 'Desktop window' : 'Browser mode'}</p>
      </nav>
      <div className="content">
        <Banner />
        <main id="main" tabIndex={-1}>
          {route.screen === 'catalog' ? <CatalogScreen /> : null}
          {route.screen === 'servable' ? <ServableScreen name={route.name} version={route.version} /> : null}
          {route.screen === 'publish' ? <PublishScreen /> : null}
          {route.screen === 'tasks' ? <TasksScreen /> : null}
          {route.screen === 'settings' ? <SettingsScreen /> : null}
        </main>
      </div>
      {dragging ? <div className="drop-overlay" aria-hidden="true">Drop the model folder to publish it</div> : null}
    </div>
  );
}
