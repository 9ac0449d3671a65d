// What this machine offers (`doctor`) and the clusters batches can be sent to, as Settings shows
// them: the list with whether each answers, a form to add one, and removing one. The servable
// screen's "Run on" choice reads the same list.
import { createStore, type StoreApi } from 'zustand/vanilla';
import { RUNTIME_NAMES, type ClusterInfo, type ClusterReport, type ClusterSpec, type DoctorReport, type RuntimeName } from '../../../main/contract/index.js';
import type { Ops } from '../client/ops.js';
import { shownError, type ShownError } from '../lib/errors.js';

/** One cluster as listed: what was added, and what its scheduler answered now. */
export interface ClusterEntry {
  cluster: ClusterInfo;
  report: ClusterReport;
}

/** The add form's fields, as typed (empty means "not given"). */
export interface ClusterForm {
  name: string;
  partition: string;
  account: string;
  time: string;
  gpus: string;
  spool: string;
  ssh: string;
  /** What each pilot runs the servable with ('' leaves the service's default, host). */
  runtime: string;
  pilots: string;
}

/** An empty add form. */
export const EMPTY_CLUSTER_FORM: ClusterForm = { name: '', partition: '', account: '', time: '', gpus: '', spool: '', ssh: '', runtime: '', pilots: '' };

/** A form problem: which field and what to fix. */
export class ClusterFormError extends Error {
  constructor(readonly field: keyof ClusterForm, message: string) {
    super(message);
    this.name = 'ClusterFormError';
  }
}

/**
 * The form as `addCluster` takes it: trimmed, empty fields left out, GPUs a whole number. Throws
 * ClusterFormError for what the form can tell at once; the service checks the rest (its patterns).
 */
export function clusterSpec(form: ClusterForm): ClusterSpec {
  const v = Object.fromEntries(Object.entries(form).map(([k, x]: [string, string]) => [k, x.trim()])) as unknown as ClusterForm;
  if (v.name === '') throw new ClusterFormError('name', 'Give the cluster a name (what "Run on" will show).');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(v.name)) throw new ClusterFormError('name', 'A name is letters, digits, ".", "_" or "-" (up to 64), starting with a letter or digit.');
  const spec: ClusterSpec = { name: v.name, scheduler: 'slurm' };
  if (v.partition) spec.partition = v.partition;
  if (v.account) spec.account = v.account;
  if (v.time) {
    if (!/^[0-9][0-9:-]{0,15}$/.test(v.time)) throw new ClusterFormError('time', 'A time limit is written as sbatch takes it: minutes (30), H:MM:SS (1:00:00) or D-HH (1-00).');
    spec.time = v.time;
  }
  if (v.gpus) {
    const n = Number(v.gpus);
    if (!Number.isInteger(n) || n < 0 || n > 64) throw new ClusterFormError('gpus', 'GPUs per pilot is a whole number from 0 to 64.');
    spec.gpus = n;
  }
  if (v.spool) spec.spool = v.spool;
  if (v.ssh) {
    if (!/^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+$/.test(v.ssh)) throw new ClusterFormError('ssh', 'Write the login as USER@HOST, or leave it empty to use the Slurm commands on this machine.');
    spec.ssh = v.ssh;
  }
  if (v.runtime) {
    if (!(RUNTIME_NAMES as readonly string[]).includes(v.runtime)) throw new ClusterFormError('runtime', `Pilots run with one of: ${RUNTIME_NAMES.join(', ')}.`);
    spec.runtime = v.runtime as RuntimeName;
  }
  if (v.pilots) {
    const n = Number(v.pilots);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new ClusterFormError('pilots', 'Pilot jobs per batch is a whole number from 1 to 1000.');
    spec.pilots = n;
  }
  return spec;
}

/** One line on a cluster's state: answers or not (and why), its partitions, nodes and GPUs. */
export function clusterSummary(report: ClusterReport): string {
  if (!report.reachable) return `Not answering${report.reason ? `: ${report.reason}` : ''}.`;
  const parts = report.partitions;
  if (parts.length === 0) return `Answers${report.version ? ` (${report.version})` : ''}; no partitions listed.`;
  const nodes = parts.reduce((n, p) => n + p.nodes, 0);
  const gpus = parts.reduce((n, p) => n + p.gpus, 0);
  const names = parts.map((p) => `${p.name}${p.default ? ' (default)' : ''}${p.state !== 'up' ? ` ${p.state}` : ''}`).join(', ');
  return `Answers${report.version ? ` (${report.version})` : ''}: partition${parts.length === 1 ? '' : 's'} ${names}; ${nodes} node${nodes === 1 ? '' : 's'}, ${gpus === 0 ? 'no GPUs' : `${gpus} GPU${gpus === 1 ? '' : 's'}`}.`;
}

/** Clusters and machine state. */
export interface ClustersState {
  entries: ClusterEntry[] | undefined;
  doctor: DoctorReport | undefined;
  doctorError: ShownError | undefined;
  error: ShownError | undefined;
  form: ClusterForm;
  formError: ClusterFormError | undefined;
  busy: 'add' | { remove: string } | undefined;
  /** What the last add or remove did, in words. */
  notice: string | undefined;
  /** The clusters and their state (each scheduler asked now). */
  load: () => Promise<void>;
  /** What this machine offers (CPUs, RAM, disk, GPUs). */
  loadDoctor: () => Promise<void>;
  setField: (field: keyof ClusterForm, value: string) => void;
  add: () => Promise<void>;
  remove: (name: string) => Promise<void>;
}

/** The clusters store over `ops`. */
export function createClustersStore(ops: Ops, report: (err: unknown) => void = () => {}): StoreApi<ClustersState> {
  let loads = 0;
  return createStore<ClustersState>()((set, get) => {
    /** One add or remove at a time: `start` shown at once, `work`'s answer after it, then the list again; a failure shown and reported. */
    async function change(start: Partial<ClustersState>, work: () => Promise<Partial<ClustersState>>): Promise<void> {
      set({ ...start, error: undefined, notice: undefined });
      try {
        set(await work());
        await get().load();
      } catch (err) {
        set({ error: shownError(err) });
        report(err);
      } finally {
        set({ busy: undefined });
      }
    }
    return {
      entries: undefined,
      doctor: undefined,
      doctorError: undefined,
      error: undefined,
      form: EMPTY_CLUSTER_FORM,
      formError: undefined,
      busy: undefined,
      notice: undefined,
      async load() {
        const mine = (loads += 1);
        try {
          const entries = await ops.listClusters({});
          if (mine === loads) set({ entries, error: undefined });
        } catch (err) {
          if (mine !== loads) return;
          set({ error: shownError(err) });
          report(err);
        }
      },
      async loadDoctor() {
        try {
          set({ doctor: await ops.doctor({}), doctorError: undefined });
        } catch (err) {
          set({ doctorError: shownError(err) });
          report(err);
        }
      },
      setField(field, value) {
        set({ form: { ...get().form, [field]: value }, formError: get().formError?.field === field ? undefined : get().formError });
      },
      async add() {
        if (get().busy) return;
        let spec: ClusterSpec;
        try {
          spec = clusterSpec(get().form);
        } catch (err) {
          if (err instanceof ClusterFormError) set({ formError: err });
          return;
        }
        await change({ busy: 'add', formError: undefined }, async () => {
          const added = await ops.addCluster(spec);
          return { form: EMPTY_CLUSTER_FORM, notice: `Added cluster ${added.name}.` };
        });
      },
      async remove(name) {
        if (get().busy) return;
        await change({ busy: { remove: name } }, async () => {
          await ops.removeCluster({ name });
          return { entries: get().entries?.filter((e) => e.cluster.name !== name), notice: `Removed cluster ${name}.` };
        });
      },
    };
  });
}
