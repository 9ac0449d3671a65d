import { Option, type Command } from 'commander';
import { UsageError, errorFromJSON, isWaitTimeout } from '../../errors.js';
import type { TaskInfo } from '../../contract/index.js';
import type { OpResponse } from '../../api/operations.js';
import type { CliContext } from '../context.js';
import { humanBytes, renderValue, table } from '../output.js';
import { callOptions, callRequest, type CallFlags } from './run.js';

function taskLine(t: TaskInfo): string {
  const when = t.finishedAt ?? t.startedAt ?? t.createdAt;
  const p = t.progress;
  const progress = p ? `  ${p.done}/${p.total} answered${p.chunks ? `, chunks ${p.chunks.done}/${p.chunks.total}` : ''}` : '';
  return `${t.id}  ${t.status}  ${t.servable}${t.method ? `.${t.method}` : ''}${t.batch ? ' (batch)' : ''}${t.on ? ` on ${t.on}` : ''}  ${when}${progress}`;
}


/** `dlhub tasks --watch`: one line (one JSON object with --json) per task state change of the running service. */
async function watchTasks(ctx: CliContext, json: boolean, status: TaskInfo['status'] | undefined): Promise<void> {
  const ops = await ctx.ops();
  if (!ctx.viaService()) {
    throw new UsageError('USAGE', 'dlhub tasks --watch follows the tasks of a running service, and none runs for this home.', {
      hint: 'Start one with `dlhub serve` (tasks submitted then run there), or list tasks with `dlhub tasks`.',
    });
  }
  process.stderr.write('Watching task changes (Ctrl-C to stop).\n');
  for await (const t of ops.watchTasks()) {
    if (status && t.status !== status) continue;
    process.stdout.write(`${json ? JSON.stringify(t) : taskLine(t)}\n`);
  }
}

/** `dlhub submit`, `dlhub task`, `dlhub tasks`, `dlhub cancel`, `dlhub status`. */
export function registerTaskCommands(program: Command, ctx: CliContext): void {
  callOptions(program.command('submit').description('submit a call as a task and print its id (see `dlhub task ID`)').argument('<name>', 'servable name'))
    .option('--batch [file]', 'submit a batch: a JSON array of inputs from FILE (or given with --input/--input-file)')
    .action(async (name: string, o: CallFlags, cmd: Command) => {
      const out = ctx.output(cmd);
      const ops = await ctx.ops();
      const task = await ops.submitTask(callRequest(name, o));
      out.result(task, () => task.id);
      if (!ctx.viaService()) {
        // No service holds the task: this process runs it to the end so the id stays useful.
        out.info('Running the task here until it finishes (with `dlhub serve` running, submit returns at once).');
        for (;;) {
          try {
            await ops.getResult({ id: task.id, waitMs: 60_000 });
            break;
          } catch (err) {
            // Its own failure is recorded with the task; `dlhub task ID` shows it.
            if (!isWaitTimeout(err)) break;
          }
        }
      }
    });

  program
    .command('task')
    .description('show a task: its status, and its output or error once finished')
    .argument('<id>', 'task id from `dlhub submit`')
    .option('--wait', 'wait until the task finishes')
    .action(async (id: string, o: { wait?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      const ops = await ctx.ops();
      let outcome: OpResponse<'getResult'> | undefined;
      for (;;) {
        try {
          outcome = await ops.getResult({ id, waitMs: o.wait ? 60_000 : 0 });
          break;
        } catch (err) {
          if (!isWaitTimeout(err) || !o.wait) break;
        }
      }
      // Read after the wait (an unknown id fails here with TASK_NOT_FOUND), so the status matches the outcome.
      const info = await ops.getTask({ id });
      out.result({ ...info, ...(outcome ? { result: outcome } : {}) }, () => {
        const lines = [taskLine(info)];
        if (outcome) lines.push(renderValue(outcome.output));
        if (info.error) lines.push(`error: ${info.error.message}`, ...(info.error.hint ? [`  ${info.error.hint}`] : []));
        if (!outcome && !info.error) lines.push('(not finished: `dlhub task ID --wait` waits for it)');
        return lines.join('\n');
      });
      // A failed task fails the command, as `dlhub run` would have.
      if (info.error && (info.status === 'failed' || info.status === 'cancelled')) process.exitCode = errorFromJSON(info.error).code === 'USAGE' ? 2 : 1;
    });

  program
    .command('tasks')
    .description('list recent tasks, newest first')
    .addOption(new Option('--status <status>', 'only tasks with this status').choices(['pending', 'running', 'succeeded', 'failed', 'cancelled']))
    .option('--limit <n>', 'at most this many', '50')
    .option('--watch', 'instead, print each task state change as it happens, until Ctrl-C (follows the running `dlhub serve`)')
    .action(async (o: { status?: TaskInfo['status']; limit: string; watch?: boolean }, cmd: Command) => {
      const out = ctx.output(cmd);
      if (o.watch) return watchTasks(ctx, out.json, o.status);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('USAGE', `--limit takes a whole number of 1 or more, not "${o.limit}".`);
      const rows = await (await ctx.ops()).listTasks({ limit, ...(o.status ? { status: o.status } : {}) });
      out.result(rows, () =>
        rows.length === 0
          ? 'No tasks. Submit one with: dlhub submit NAME --input JSON'
          : table(['id', 'status', 'servable', 'method', 'created'], rows.map((t) => [t.id, t.status, t.servable, t.method ?? '', t.createdAt])),
      );
    });

  program
    .command('cancel')
    .description('cancel a task that has not finished')
    .argument('<id>', 'task id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const info = await (await ctx.ops()).cancelTask({ id });
      out.result(info, () => `${info.id} is ${info.status}.`);
    });

  program
    .command('status')
    .description('workers, queue, tasks and the memo cache')
    .action(async (_o: unknown, cmd: Command) => {
      const out = ctx.output(cmd);
      const s = await (await ctx.ops()).status({});
      out.result({ ...s, service: ctx.viaService() }, () => {
        const t = s.tasks;
        return [
          ctx.viaService() ? 'dlhub service: running (warm workers below)' : 'dlhub service: not running (this process has no warm workers)',
          `workers  ${s.workers.length}`,
          ...(s.workers.length > 0
            ? [table(['servable', 'runtime', 'replica', 'state', 'calls', 'since'], s.workers.map((w) => [w.servable, w.runtime, String(w.replica), w.state, String(w.calls), w.startedAt]))]
            : []),
          `queue    ${s.queued} waiting, ${s.inFlight} in flight`,
          `tasks    ${t.pending} pending, ${t.running} running, ${t.succeeded} succeeded, ${t.failed} failed, ${t.cancelled} cancelled`,
          `cache    ${s.cache.entries} entries, ${humanBytes(s.cache.bytes)} of ${humanBytes(s.cache.budgetBytes)}, ${s.cache.hits} hits, ${s.cache.misses} misses`,
          `limits   concurrency ${s.limits.maxConcurrency}, replicas ${s.limits.maxReplicasPerServable}/servable, ${s.limits.maxReplicasTotal} total${s.limits.rateLimit ? `, rate ${s.limits.rateLimit.calls} per ${s.limits.rateLimit.perSeconds} s` : ''}`,
        ].join('\n');
      });
    });
}
