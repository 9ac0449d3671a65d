// Type-aware lint; the per-folder import rules keep the layering of DESIGN.md true by themselves.
import { dirname, join, relative, resolve, sep } from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layering inside main/, as data: each folder (main/errors.ts counts as `errors`) may import only
 * the folders listed for it, all below it: cli -> api -> {engine, catalog, hub, provenance} ->
 * {runtime -> packager, memo} -> servable -> storage -> contract -> errors. A folder may always import
 * itself. The contract (wire types, the operations table, the value codec) sits at the bottom so
 * every layer and the renderer can take their wire types from it.
 */
const BELOW_SERVABLE = ['storage', 'contract', 'errors'];
const BELOW_RUNTIME = ['servable', ...BELOW_SERVABLE];
const BELOW_ENGINE = ['runtime', 'packager', 'memo', ...BELOW_RUNTIME];
const BELOW_API = ['engine', 'cluster', 'catalog', 'hub', 'provenance', ...BELOW_ENGINE];
export const LAYERS = {
  cli: ['api', ...BELOW_API],
  api: BELOW_API,
  // The engine sends a batch named for a cluster (`on`) to its pilot jobs.
  engine: ['cluster', ...BELOW_ENGINE],
  cluster: ['runtime', 'packager', ...BELOW_RUNTIME],
  catalog: BELOW_ENGINE,
  hub: BELOW_ENGINE,
  provenance: BELOW_ENGINE,
  // A runtime builds what it runs from (its image) out of the packager's build context.
  runtime: ['packager', ...BELOW_RUNTIME],
  packager: BELOW_RUNTIME,
  memo: BELOW_RUNTIME,
  servable: BELOW_SERVABLE,
  storage: ['contract', 'errors'],
  contract: ['errors'],
  errors: [],
};

const MAIN = join(import.meta.dirname, 'main');

/** The layer a file belongs to: the first folder under main/ (or `errors` for main/errors.ts). */
function layerOf(file) {
  const rel = relative(MAIN, file);
  if (rel === '' || rel.startsWith('..')) return undefined;
  return rel.split(sep)[0].replace(/\.(ts|js)$/, '');
}

const layering = {
  rules: {
    'allowed-imports': {
      meta: { type: 'problem', schema: [] },
      create(context) {
        const from = layerOf(context.filename);
        if (!from) return {};
        const check = (node, source) => {
          if (!source || source.type !== 'Literal' || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
          const to = layerOf(resolve(dirname(context.filename), source.value));
          if (!to || to === from) return;
          const allowed = LAYERS[from];
          if (allowed === undefined) {
            context.report({ node, message: `main/${from} has no row in the LAYERS table of eslint.config.js: add one.` });
          } else if (!allowed.includes(to)) {
            context.report({ node, message: `main/${from} may not import main/${to}: it may import only ${allowed.join(', ') || 'nothing else'} (LAYERS in eslint.config.js).` });
          }
        };
        return {
          ImportDeclaration: (n) => check(n, n.source),
          ExportNamedDeclaration: (n) => check(n, n.source),
          ExportAllDeclaration: (n) => check(n, n.source),
          ImportExpression: (n) => check(n, n.source),
        };
      },
    },
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'resources/**', 'examples/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Operations are async by contract (they cross HTTP and IPC); some are synchronous inside.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ThrowStatement > Literal', message: 'Throw a typed DlhubError, not a string.' }],
    },
  },
  {
    files: ['main/**/*.ts'],
    plugins: { layering },
    rules: {
      'layering/allowed-imports': 'error',
      'no-restricted-imports': ['error', { patterns: [
        { group: ['electron', 'react', 'react-dom', 'zustand'], message: 'main/ is plain Node: no Electron or React.' },
        { group: ['**/renderer/**', '**/electron/**'], message: 'main/ never imports the layers above it.' },
      ] }],
    },
  },
  {
    // Plain Node scripts (npm start) are outside every tsconfig: linted without type information.
    files: ['scripts/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // The window's renderer is a web page: it reaches the engine only through the contract and the
    // door kit's browser-safe client, never Node, Electron or another part of main/.
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    ignores: ['renderer/vite.config.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'electron', '**/electron/**'], message: 'renderer/ is a web page: no Node or Electron modules.' },
        { regex: '(^|/)main/(?!contract/|api/doors/(client|http-transport)\\.js$)', message: 'renderer/ imports only main/contract and the door kit\'s client (main/api/doors/client.js, http-transport.js).' },
      ] }],
    },
  },
  {
    // The hub server is its own program: it shares the wire's bottom (contract, errors, the door
    // kit, storage helpers) with main/ and nothing of the desktop's engine.
    files: ['hub/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '(^|/)main/(?!contract/|errors\\.js$|api/doors/|storage/)', message: 'hub/ imports only main/contract, main/errors.ts, the door kit (main/api/doors) and main/storage.' },
        { group: ['electron', 'react', 'react-dom', 'zustand', '**/renderer/**', '**/electron/**'], message: 'The hub server is plain Node.' },
      ] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
