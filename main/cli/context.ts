import { join } from 'node:path';
import type { Command } from 'commander';
import type { Dlhub } from '../api/dlhub.js';
import type { OpName } from '../contract/operations.js';
import { ROUTES } from '../api/generated/routes.js';
import { createClient, type ClientOperations, type Transport } from '../api/doors/client.js';
import { serviceAnswers, socketTransport } from '../api/doors/socket-transport.js';
import type { Operations } from '../api/operations.js';
import { homePaths } from '../storage/home.js';
import { makeOutput, type Output } from './output.js';

/** What every command gets: the API and a writer, built lazily so `--help` stays instant. */
export interface CliContext {
  /** The in-process API (always local), loaded on first use. */
  api(): Promise<Dlhub>;
  /**
   * Every operation, through the one client of the table: sent to the running local service when
   * one answers (warm workers, one cache) unless the table keeps it in the caller's process, else
   * done here. Requests are validated against the table at either door.
   */
  ops(): Promise<ClientOperations>;
  /** Whether ops() found a running service. */
  viaService(): boolean;
  output(cmd: Command): Output;
  close(): Promise<void>;
}

/** Where the local service listens for this DLHUB_HOME. */
export function serviceSocketPath(home?: string): string {
  return join(homePaths(home).run, 'service.sock');
}

/** A transport whose every call goes to the one `pick` chooses for that operation. */
function routed(pick: (op: OpName) => Transport | Promise<Transport>): Transport {
  return {
    call: async (op, req, ctx) => (await pick(op)).call(op, req, ctx),
    async *stream(op, req, ctx) {
      yield* (await pick(op)).stream(op, req, ctx);
    },
    close: async () => undefined,
  };
}

/** Build the CLI context for one process. */
export function createContext(): CliContext {
  let dlhub: Dlhub | undefined;
  let ops: ClientOperations | undefined;
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
  // The in-process transport (and the validators it loads) only for work done in this process, not for a call the service answers.
  let inProcess: Transport | undefined;
  const local = async (): Promise<Transport> => {
    if (!inProcess) {
      const { inProcessTransport } = await import('../api/doors/in-process.js');
      inProcess = inProcessTransport((op) => (op === 'searchCatalog' && !dlhub ? lightSearch() : api()));
    }
    return inProcess;
  };
  return {
    api,
    async ops() {
      if (ops) return ops;
      const socketPath = serviceSocketPath();
      if (process.env['DLHUB_NO_SERVICE'] !== '1' && (await serviceAnswers(socketPath))) {
        remote = true;
        const service = socketTransport({ socketPath });
        ops = createClient(routed((op) => (ROUTES[op].cli === 'service' ? service : local())));
      } else ops = createClient(routed(local));
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
