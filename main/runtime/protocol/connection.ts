import type { Duplex } from 'node:stream';
import { DlhubError, InputError, ModelError, NotFoundError, WorkerError } from '../../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, encodeFrameParts, FrameDecoder, type Frame } from './frame.js';
import type { DeathReport } from './death.js';
import { decodeValue, encodeResultFrame, encodeValue, extractValue } from './values.js';

/** The protocol version this host speaks. */
export const PROTOCOL_VERSION = 1;

/** What a runner says about itself in answer to `hello`. */
export interface HelloResult {
  protocol: number;
  runner: string;
  python: string;
  servable: { name: string; type: string };
  methods: string[];
  capabilities: string[];
  /** The framework a tensor loader runs the model with, and the device it is on (torch, onnx servables). */
  framework?: { name: string; version: string; device: 'cpu' | 'cuda'; note?: string } | undefined;
}

/** One run's output, plus the result as one stored frame (`{result}` + buffers) for the memo cache. */
export interface RunResult {
  output: unknown;
  /** encodeFrame({result}, buffers), built on first read; decode with decodeStoredResult. */
  readonly raw: Buffer;
  invokeMs: number;
  /** The model's own time in the runner (timing.inference_ms); undefined from a runner built before it was sent. */
  inferenceMs: number | undefined;
}

/** A batch's outputs, one per input, each also as a stored frame. */
export interface RunBatchResult {
  outputs: unknown[];
  readonly raws: Buffer[];
  invokeMs: number;
  /** The model's own time for the whole batch (timing.inference_ms); undefined from an older runner. */
  inferenceMs: number | undefined;
}

/** Options of a run. */
export interface RunOptions {
  parameters?: Record<string, unknown> | undefined;
}

/** How a connection is set up. */
export interface ConnectionOptions {
  maxFrameBytes?: number | undefined;
  /** Servable name, for error messages before hello has answered. */
  name?: string | undefined;
  /** Sees every header sent and received (tests validate them against the schema). */
  trace?: ((direction: 'send' | 'recv', header: Record<string, unknown>) => void) | undefined;
  /**
   * Called when the stream ends without the host closing it: says why the runner stopped (out of
   * memory, its exit code, its last output). Pending calls wait for it, up to DEATH_REPORT_MS.
   */
  explainDeath?: (() => Promise<DeathReport | undefined>) | undefined;
}

/** How long a dead runner's calls wait for the runtime to say why it died. */
export const DEATH_REPORT_MS = 5000;

interface Pending {
  resolve: (frame: Frame) => void;
  reject: (err: Error) => void;
}

interface WireError {
  kind?: string;
  type?: string;
  message?: string;
  traceback?: string;
}

/** The host side of the runner protocol over one stream: requests are matched to responses by id, so calls may overlap. */
export class RunnerConnection {
  /** Resolves once the stream has closed, for any reason. */
  readonly closed: Promise<void>;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: WorkerError | undefined;
  // Set while the runtime is finding out why the runner died; calls wait for it, then fail.
  private dying: Promise<void> | undefined;
  private name: string | undefined;
  private explainDeath: ConnectionOptions['explainDeath'];
  private markClosed!: () => void;

  constructor(
    private readonly stream: Duplex,
    private readonly opts: ConnectionOptions = {},
  ) {
    this.decoder = new FrameDecoder(opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.name = opts.name;
    this.explainDeath = opts.explainDeath;
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err) => this.lost(`its stream failed (${err.message})`, err));
    stream.on('end', () => this.lost('it closed the connection'));
    stream.on('close', () => this.lost('it closed the connection'));
  }

  /** Check versions and learn the servable's name, methods and capabilities. Load failures reject here. */
  async hello(): Promise<HelloResult> {
    const frame = await this.request({ op: 'hello', protocol: PROTOCOL_VERSION });
    const result = frame.header['result'] as HelloResult;
    this.name = result.servable.name || this.name;
    return result;
  }

  /** The servable's full metadata (dlhub.json) plus a `methods` summary. */
  async describe(): Promise<Record<string, unknown>> {
    const frame = await this.request({ op: 'describe' });
    return frame.header['result'] as Record<string, unknown>;
  }

  /** Run `method` on one input. */
  async run(method: string, input: unknown, opts: RunOptions = {}): Promise<RunResult> {
    const encoded = encodeValue(input);
    const frame = await this.request({ op: 'run', method, input: encoded.json, ...params(opts) }, encoded.buffers);
    const json = frame.header['result'];
    let raw: Buffer | undefined;
    return {
      output: this.decode(json, frame.buffers),
      get raw() {
        raw ??= encodeResultFrame(json, frame.buffers);
        return raw;
      },
      invokeMs: invokeMs(frame),
      inferenceMs: inferenceMs(frame),
    };
  }

  /** Run `method` on several inputs in one request; the runner batches them where the model allows. */
  async runBatch(method: string, inputs: unknown[], opts: RunOptions = {}): Promise<RunBatchResult> {
    const encoded = encodeValue(inputs);
    const frame = await this.request({ op: 'run', method, inputs: encoded.json, batch: true, ...params(opts) }, encoded.buffers);
    const json = frame.header['result'];
    if (!Array.isArray(json) || json.length !== inputs.length) {
      throw this.protocolError(`a batch of ${inputs.length} inputs came back with ${Array.isArray(json) ? json.length : 'no'} outputs`);
    }
    const outputs = this.decode(json, frame.buffers) as unknown[];
    let raws: Buffer[] | undefined;
    return {
      outputs,
      get raws() {
        raws ??= json.map((item) => {
          const one = extractValue(item, frame.buffers);
          return encodeResultFrame(one.json, one.buffers);
        });
        return raws;
      },
      invokeMs: invokeMs(frame),
      inferenceMs: inferenceMs(frame),
    };
  }

  /** Ask the runner to exit; resolves once it has acknowledged. */
  async shutdown(): Promise<void> {
    await this.request({ op: 'shutdown' });
  }

  /** Set (or replace) how a death is explained once the worker is up; see ConnectionOptions.explainDeath. */
  explainDeathWith(explain: ConnectionOptions['explainDeath']): void {
    this.explainDeath = explain;
  }

  /** Drop the stream; pending and later calls fail with RUNNER_DIED. */
  close(): void {
    // A runner that died on its own keeps the error that says why, not "closed by the host".
    if (!this.dying) this.fail(this.died('the connection was closed by the host'));
    this.stream.destroy();
  }

  private request(header: Record<string, unknown>, buffers: Buffer[] = []): Promise<Frame> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.dying) return this.dying.then(() => Promise.reject(this.dead ?? this.died('it closed the connection')));
    const id = this.nextId++;
    const full = { id, ...header };
    let parts: Buffer[];
    try {
      parts = encodeFrameParts(full, buffers, this.opts.maxFrameBytes);
    } catch (err) {
      const limit = err instanceof DlhubError ? (err.details as { size?: number; max?: number } | undefined) : undefined;
      if (limit?.max !== undefined && err instanceof DlhubError) {
        return Promise.reject(new InputError('INPUT_TOO_LARGE', `The input for ${this.label()} is ${limit.size ?? '?'} bytes, over the frame limit of ${limit.max} bytes.`, {
          hint: 'Send a smaller input, or split a batch into several calls.',
          details: err.details,
        }));
      }
      return Promise.reject(err instanceof DlhubError ? err : this.protocolError((err as Error).message));
    }
    return new Promise<Frame>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.opts.trace?.('send', full);
      if (parts.length > 1) this.stream.cork();
      for (const part of parts) this.stream.write(part);
      if (parts.length > 1) this.stream.uncork();
    });
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(err instanceof WorkerError ? err : this.protocolError((err as Error).message));
      this.stream.destroy();
      return;
    }
    for (const frame of frames) this.dispatch(frame);
  }

  private dispatch(frame: Frame): void {
    this.opts.trace?.('recv', frame.header);
    const id = frame.header['id'];
    const waiter = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!waiter) {
      const error = frame.header['error'] as WireError | undefined;
      this.fail(this.protocolError(error?.message ?? `a response carried id ${JSON.stringify(id)}, which no request is waiting for`));
      this.stream.destroy();
      return;
    }
    this.pending.delete(id as number);
    if (frame.header['ok'] === true) waiter.resolve(frame);
    else waiter.reject(this.mapError(frame.header['error'] ?? {}));
  }

  private decode(json: unknown, buffers: Buffer[]): unknown {
    try {
      return decodeValue(json, buffers);
    } catch (err) {
      throw this.protocolError((err as Error).message);
    }
  }

  private mapError(e: WireError): Error {
    const label = this.label();
    const message = e.message ?? 'no message';
    switch (e.kind) {
      case 'model':
        return new ModelError(e.type ?? 'Exception', message, e.traceback ?? '');
      case 'input':
        return new InputError('INPUT_INVALID', `${label} rejected the input: ${message}`, {
          hint: 'Check the input against the method\'s declared type (`dlhub describe NAME`).',
          details: { type: e.type },
        });
      case 'method':
        return new NotFoundError('METHOD_NOT_FOUND', `${label}: ${message}`, { hint: 'Choose one of the methods `dlhub describe NAME` lists.' });
      case 'load':
        return new WorkerError('RUNNER_DIED', `${label} could not load its model: ${message}`, {
          hint: 'Check the servable files and that its libraries are installed in the image (or the host Python).',
          details: { kind: 'load', type: e.type, traceback: e.traceback },
        });
      default:
        return this.protocolError(message);
    }
  }

  private label(): string {
    return this.name ? `Servable "${this.name}"` : 'The servable';
  }

  // The stream ended or failed: fail every call now, or once the runtime has said why the runner died.
  private lost(why: string, cause?: unknown): void {
    if (this.dead || this.dying) return;
    const explain = this.explainDeath;
    if (!explain) {
      this.fail(this.died(why, cause));
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), DEATH_REPORT_MS);
      timer.unref();
    });
    this.dying = Promise.race([explain().catch(() => undefined), late]).then((report) => {
      clearTimeout(timer);
      this.fail(report ? this.died(report.why, cause, report) : this.died(why, cause));
    });
  }

  private died(why: string, cause?: unknown, report?: DeathReport): WorkerError {
    return new WorkerError('RUNNER_DIED', `The runner of ${this.name ? `"${this.name}"` : 'the servable'} stopped: ${why}${why.includes('\n') || why.endsWith('.') ? '' : '.'}`, {
      hint: report?.hint ?? 'Run it again to start a fresh worker; if it keeps dying, the model may crash or run out of memory.',
      ...(report?.details ? { details: report.details } : {}),
      ...(cause === undefined ? {} : { cause }),
    });
  }

  private protocolError(why: string): WorkerError {
    return new WorkerError('PROTOCOL_ERROR', `${this.label()}'s runner broke the protocol: ${why}.`, {
      hint: 'The runner and the host disagree; rebuild the servable image with this version of DLHub.',
    });
  }

  // First failure wins: every pending call and every later call fails with it.
  private fail(err: WorkerError): void {
    if (!this.dead) {
      this.dead = err;
      this.markClosed();
    }
    for (const waiter of this.pending.values()) waiter.reject(this.dead);
    this.pending.clear();
  }
}

function params(opts: RunOptions): Record<string, unknown> {
  return opts.parameters ? { parameters: opts.parameters } : {};
}

// An image built before the runner sent inference_ms keeps its old runner: absent, not 0, so nobody reads it as free.
function inferenceMs(frame: Frame): number | undefined {
  const timing = frame.header['timing'] as { inference_ms?: unknown } | undefined;
  return typeof timing?.inference_ms === 'number' ? timing.inference_ms : undefined;
}

function invokeMs(frame: Frame): number {
  const timing = frame.header['timing'] as { invoke_ms?: unknown } | undefined;
  return typeof timing?.invoke_ms === 'number' ? timing.invoke_ms : 0;
}
