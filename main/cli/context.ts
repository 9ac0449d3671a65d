import { join } from 'node:path';
import type { Command } from 'commander';
import { Dlhub } from '../api/dlhub.js';
import { callService, serviceAnswers } from '../api/http-client.js';
import { SERVICE_OPERATIONS, type ServiceOperation } from '../api/http-server.js';
import type { Operations } from '../api/operations.js';
import { homePaths } from '../storage/home.js';
import { makeOutput, type Output } from './output.js';

/** The operations a command can send to a running local service instead of doing them itself. */
export type ServiceApi = Pick<Operations, ServiceOperation>;

/** What every command gets: the API and a writer, built lazily so `--help` stays instant. */
export interface CliContext {
  /** The in-process API (always local). */
  api(): Dlhub;
  /** The running local service when one answers (its workers are warm), else the in-process API. */
  ops(): Promise<ServiceApi>;
  output(cmd: Command): Output;
  close(): Promise<void>;
}

/** Where the local service listens for this DLHUB_HOME. */
export function serviceSocketPath(home?: string): string {
  return join(homePaths(home).run, 'service.sock');
}

/** Build the CLI context for one process. */
export function createContext(): CliContext {
  let dlhub: Dlhub | undefined;
  const api = (): Dlhub => {
    dlhub ??= new Dlhub();
    return dlhub;
  };
  return {
    api,
    async ops() {
      const socket = serviceSocketPath();
      if (process.env['DLHUB_NO_SERVICE'] !== '1' && (await serviceAnswers(socket))) {
        const remote = Object.fromEntries(SERVICE_OPERATIONS.map((op) => [op, (params: unknown) => callService(socket, op, params)]));
        return remote as unknown as ServiceApi;
      }
      return api();
    },
    output(cmd) {
      return makeOutput(cmd.optsWithGlobals<{ json?: boolean }>().json === true);
    },
    async close() {
      await dlhub?.close();
    },
  };
}
