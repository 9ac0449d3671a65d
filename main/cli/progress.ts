import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import type { ProgressEvent } from '../api/operations.js';
import { safeText } from './output.js';

/** A progress reporter for long work: a live bar on a terminal, plain lines otherwise. */
export function progressReporter(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): { update: (p: ProgressEvent) => void; stop: () => void } {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  if (!stream.isTTY) {
    let last = '';
    return {
      update: (p) => {
        // Build steps can carry whole LABEL lines: one screen line each is enough to follow along.
        const line = safeText(`[${p.phase} ${p.step}/${p.total}] ${p.message.length > 100 ? `${p.message.slice(0, 99)}…` : p.message}`);
        if (line !== last) stream.write(`${line}\n`);
        last = line;
      },
      stop: () => undefined,
    };
  }
  // Loaded only for a live bar: commands that never draw one (search, ls, run) skip the module.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress;
  const bar = new cliProgress.SingleBar(
    { stream, format: '{phase} [{bar}] {value}/{total} {message}', hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      const payload = { phase: safeText(p.phase).padEnd(7), message: safeText(p.message).slice(0, 60) };
      if (!started) {
        bar.start(Math.max(p.total, 1), p.step, payload);
        started = true;
      } else {
        bar.setTotal(Math.max(p.total, 1));
        bar.update(p.step, payload);
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
