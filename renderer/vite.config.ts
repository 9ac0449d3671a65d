// Bundles the window's renderer into dist/renderer (`npm run build`). Relative asset URLs let the
// same files load from the browser-mode service (http://127.0.0.1:PORT/) and from Electron's app:// scheme.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // Nothing inlined as data: URLs or inline scripts: the page's CSP allows only files from itself.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
});
