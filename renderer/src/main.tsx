// The renderer's entry: connect (Electron's bridge or the page's own HTTP door), build the stores, draw.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { connect } from './client/connect.js';
import { AppContext } from './components/context.js';
import { createAppStores } from './stores/app-stores.js';

const { ops, mode, bridge } = connect();
const stores = createAppStores(ops, location.hash, (h) => {
  if (location.hash !== h) location.hash = h;
});
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <AppContext.Provider value={{ stores, mode, pathForFile: bridge ? (f) => bridge.pathForFile(f) : undefined }}>
        <App />
      </AppContext.Provider>
    </StrictMode>,
  );
}
