import { join } from 'node:path';
import type { Command } from 'commander';
import type { Dlhub } from '../api/dlhub.js';
import { callOp, serviceAnswers, type Endpoint } from '../api/http-client.js';
import type { OpName } from '../contract/operations.js';
import { ROUTES } from '../api/generated/routes.js';
import type { Operations, ProgressEvent } from '../api/operations.js';
import { homePaths } from '../storage/home.js';
import { makeOutput, type Output } from './output.js';

/** What every command gets: the API and a writer, built lazily so `--help` stays instant. */
export interface CliContext {
  /** The in-process API (always local), loaded on first use. */
  api(): Promise<Dlhub>;
  /**
   * Every operation: sent to the running local service when one answers (warm workers, one
   * cache) unless the table keeps it in the caller's process, else done here. Requests are
   * validated against the table at either door.
   */
  ops(): Promise<Operations>;
  /** Whether ops() found a running service. */
  viaService(): boolean;
  output(cmd: Command): Output;
  close(): Promise<void>;
}

/** Where the local service listens for this DLHUB_HOME. */
export function serviceSocketPath(home?: string): string {
  return join(homePaths(home).run, 'service.sock');
}

/** The operations table as methods, each one a call through `call`. */
export function generatedOps(call: (op: OpName, req: unknown, onProgress?: (p: ProgressEvent) => void) => Promise<unknown>): Operations {
  return Object.fromEntries((Object.keys(ROUTES) as OpName[]).map((op) => [op, (req: unknown, onProgress?: (p: ProgressEvent) => void) => call(op, req, onProgress)])) as unknown as Operations;
}

/** Build the CLI context for one process. */
export function createContext(): CliContext {
  let dlhub: Dlhub | undefined;
  let ops: Operations | undefined;
  let remote = false;
  const api = async (): Promise<Dlhub> => {
    // Loaded on demand: a command that goes to the service never loads Docker or SQLite code.
    const { Dlhub: DlhubClass } = await import('../api/dlhub.js');
    dlhub ??= new DlhubClass();
    return dlhub;
  };
  let catalogOnly: { searchCatalog: Operations['searchCatalog']; close: () => void } | undefined;
  // A search needs only the catalog: opening it alone keeps Docker, gRPC and memo.db code out of a
  // fresh `dlhub search` process (its start-to-answer time is what users feel).
  const lightSearch = async (): Promise<Operations> => {
    if (!catalogOnly) {
      const [{ Catalog }, { ensureHome }] = await Promise.all([import('../catalog/catalog.js'), import('../storage/home.js')]);
      const catalog = Catalog.open(ensureHome(homePaths()));
      catalogOnly = {
        searchCatalog: async (req) => catalog.search(req.query, { advanced: req.advanced ?? false, allVersions: req.allVersions ?? false, page: req.page, pageSize: req.pageSize }),
        close: () => catalog.close(),
      };
    }
    return catalogOnly as unknown as Operations;
  };
  // The door (and its generated validators) loads only for work done in this process, not for a call the service answers.
  const local = generatedOps(async (op, req, onProgress) => {
    const { invoke } = await import('../api/door.js');
    return invoke(op === 'searchCatalog' && !dlhub ? await lightSearch() : await api(), op, req, onProgress);
  });
  return {
    api,
    async ops() {
      if (ops) return ops;
      const socketPath = serviceSocketPath();
      if (process.env['DLHUB_NO_SERVICE'] !== '1' && (await serviceAnswers(socketPath))) {
        remote = true;
        const ep: Endpoint = { socketPath };
        ops = generatedOps((op, req, onProgress) =>
          ROUTES[op].cli === 'service' ? callOp(ep, op, req as never) : (local[op] as (r: unknown, p?: unknown) => Promise<unknown>)(req, onProgress),
        );
      } else ops = local;
      return ops;
    },
    viaService: () => remote,
    output(cmd) {
      return makeOutput(cmd.optsWithGlobals<{ json?: boolean }>().json === true);
    },
    async close() {
      catalogOnly?.close();
      catalogOnly = undefined;
      await dlhub?.close();
    },
  };
}
