// Whether a servable fits this machine (and each cluster added), asked lazily: a catalog record asks
// only when it comes into view, each name once, a few at a time, so a long result list never turns
// into a call per record.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { FitReport } from '../../../main/contract/index.js';
import type { Ops } from '../client/ops.js';
import { shownError } from '../lib/errors.js';

/** What is known of one servable's fit. */
export type FitEntry = { state: 'asking' } | { state: 'known'; report: FitReport } | { state: 'unknown'; message: string };

/** One place a servable could run, as the badge's details list it. */
export interface FitPlace {
  where: string;
  /** The cluster's name; undefined for this machine. */
  cluster: string | undefined;
  fits: boolean;
  device: 'gpu' | 'cpu';
  reasons: string[];
  notes: string[];
}

// Short words for the badge, from the reasons `fit` gives (the whole reason is in its details).
const SHORT: [RegExp, string][] = [
  [/needs a GPU with/i, 'GPU too small'],
  [/needs a GPU|no GPU/i, 'no GPU'],
  [/GB of RAM|memory/i, 'not enough RAM'],
  [/CPU cores/i, 'too few CPUs'],
  [/no runtime/i, 'no runtime'],
  [/not answer|unreachable/i, 'not answering'],
];

/** The badge's few words for a reason: "no GPU", "not enough RAM", … (else the reason's first words). */
export function shortReason(reason: string): string {
  for (const [re, words] of SHORT) if (re.test(reason)) return words;
  const first = reason.replace(/^it /, '').split(/[;:(,]/)[0]?.trim() ?? reason;
  return first.length > 40 ? `${first.slice(0, 39)}…` : first;
}

/** The badge for this machine: fits or not, and its words ("Fits here (GPU)", "Does not fit: no GPU"). */
export function fitBadge(report: FitReport): { fits: boolean; label: string; title: string } {
  const title = [...report.reasons, ...report.notes].join('\n') || (report.device === 'gpu' ? 'Runs on this machine\'s GPU.' : 'Runs on this machine\'s CPU.');
  if (report.fits) return { fits: true, label: `Fits here${report.device === 'gpu' ? ' (GPU)' : report.notes.length > 0 ? ' (CPU)' : ''}`, title };
  const words = [...new Set(report.reasons.map(shortReason))];
  return { fits: false, label: `Does not fit: ${words.join(', ') || 'see why'}`, title };
}

/** Every place the report answers for: this machine first, then each cluster added. */
export function fitPlaces(report: FitReport): FitPlace[] {
  const targets = report.targets;
  // A service from before per-cluster answers sends none: its top-level answer is this machine's.
  if (!Array.isArray(targets) || targets.length === 0) return [{ where: 'This machine', cluster: undefined, fits: report.fits, device: report.device, reasons: report.reasons, notes: report.notes }];
  return targets.map((t) => ({
    where: t.where === 'here' ? 'This machine' : `Cluster ${t.cluster ?? '?'}${t.partition ? ` (partition ${t.partition})` : ''}`,
    cluster: t.where === 'here' ? undefined : t.cluster,
    fits: t.fits, device: t.device, reasons: t.reasons, notes: t.notes,
  }));
}

/** Fit state. */
export interface FitState {
  entries: Record<string, FitEntry>;
  /** Ask for `name`'s fit unless it is known or being asked. */
  want: (name: string) => void;
  /** Forget what is known (clusters or the machine changed). */
  forget: () => void;
}

/** The fit store over `ops`; at most `parallel` questions at a time. */
export function createFitStore(ops: Ops, opts: { parallel?: number } = {}): StoreApi<FitState> {
  const parallel = opts.parallel ?? 3;
  const waiting: string[] = [];
  let active = 0;
  let generation = 0;
  return createStore<FitState>()((set, get) => {
    const put = (name: string, entry: FitEntry): void => set({ entries: { ...get().entries, [name]: entry } });
    const pump = (): void => {
      while (active < parallel && waiting.length > 0) {
        const name = waiting.shift() as string;
        const mine = generation;
        active += 1;
        ops.fitServable({ name })
          .then((report) => {
            if (mine === generation) put(name, { state: 'known', report });
          })
          .catch((err: unknown) => {
            if (mine === generation) put(name, { state: 'unknown', message: shownError(err).message });
          })
          .finally(() => {
            active -= 1;
            pump();
          });
      }
    };
    return {
      entries: {},
      want(name) {
        if (get().entries[name]) return;
        put(name, { state: 'asking' });
        waiting.push(name);
        pump();
      },
      forget() {
        generation += 1;
        waiting.length = 0;
        set({ entries: {} });
      },
    };
  });
}
