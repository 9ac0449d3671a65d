import { setMaxListeners } from 'node:events';
import { status as Status, type ServerDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { ServiceError as DlhubServiceError, toDlhubError, type DlhubError, type ErrorCode } from '../../../errors.js';
import { decodeFrame, encodeAnswer, encodeFrameError, type FrameModes } from './frames.js';
import type { StreamRequest, StreamResponse } from './proto.js';
import { toGrpcError } from './status.js';

/** A stream opened with a good token: how its frames are read, and how one input is run. */
export interface OpenStream {
  modes: FrameModes;
  run(input: unknown, signal: AbortSignal): Promise<unknown>;
}

/** What a stream needs from the service. */
export interface StreamOptions {
  /** Check the first message's token; rejects with a typed error (UNAUTHORIZED, SERVABLE_NOT_FOUND). */
  open(token: string): Promise<OpenStream>;
  /** Frames read but not yet answered, at most; the stream stops reading beyond it. */
  window: number;
  /** Largest `data` frame, in bytes; a bigger one ends the stream with RESOURCE_EXHAUSTED. */
  maxFrameBytes: number;
}

type Settled = { data: Buffer } | { fatal: DlhubError };

// Errors that say the stream itself cannot go on (its servable or runtime is gone, it was cancelled);
// any other error belongs to one frame and is answered in its place.
const STREAM_ERRORS: ReadonlySet<ErrorCode> = new Set(['SERVABLE_NOT_FOUND', 'METHOD_NOT_FOUND', 'RUNTIME_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'UNAUTHORIZED', 'CANCELLED']);

/**
 * Serve one `stream_infer` call. The first message carries the token; each `data` message after it is
 * run at once (frames of one stream overlap, so the engine can batch them) and answered by one
 * Response in the order the frames came. At most `window` frames are in flight or waiting to be
 * written: beyond that the stream stops reading, and it stops too while the client does not read
 * its answers, so HTTP/2 flow control slows the client and memory stays bounded. A client that goes
 * away aborts the calls it left.
 */
export function serveStream(call: ServerDuplexStream<StreamRequest, StreamResponse>, opts: StreamOptions): void {
  const controller = new AbortController();
  // Every frame in flight listens on this one signal (the pool's cancel), up to the window at once.
  setMaxListeners(opts.window + 16, controller.signal);
  const queue: Promise<Settled>[] = [];
  let opened: Promise<OpenStream> | undefined;
  let flushing = false;
  let clientDone = false;
  let finished = false;
  let paused = false;

  const finish = (err?: Partial<ServiceError>): void => {
    if (finished) return;
    finished = true;
    controller.abort();
    queue.length = 0;
    call.removeListener('data', onData);
    if (err) call.emit('error', err);
    else call.end();
  };

  const settle = (open: Promise<OpenStream>, data: Buffer): Promise<Settled> =>
    open.then(
      async (stream) => {
        let key: unknown;
        try {
          const frame = decodeFrame(data, stream.modes.input);
          key = frame.key;
          return { data: encodeAnswer(await stream.run(frame.input, controller.signal), key, stream.modes.output) };
        } catch (err) {
          const e = toDlhubError(err);
          // A raw-bytes answer has no room for an error beside it: such a stream ends with the status.
          if (STREAM_ERRORS.has(e.code) || stream.modes.output === 'bytes') return { fatal: e };
          return { data: encodeFrameError(e, key) };
        }
      },
      (err: unknown) => ({ fatal: toDlhubError(err) }),
    );

  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        call.removeListener('drain', done);
        controller.signal.removeEventListener('abort', done);
        resolve();
      };
      call.on('drain', done);
      controller.signal.addEventListener('abort', done);
    });

  const flush = async (): Promise<void> => {
    if (flushing) return;
    flushing = true;
    try {
      while (queue.length > 0 && !finished) {
        const settled = await (queue[0] as Promise<Settled>);
        if (finished) return;
        void queue.shift();
        if ('fatal' in settled) return finish(toGrpcError(settled.fatal));
        // write() says false while the client is not reading: wait, and read no more frames meanwhile.
        if (!call.write({ data: settled.data })) await drained();
        if (paused && queue.length < opts.window) {
          paused = false;
          call.resume();
        }
      }
      if (clientDone && queue.length === 0) finish();
    } finally {
      flushing = false;
    }
  };

  const onData = (msg: StreamRequest): void => {
    if (finished) return;
    if (!opened) {
      if (msg.request_oneof !== 'token' || !msg.token) {
        return finish(toGrpcError(new DlhubServiceError('UNAUTHORIZED', 'The first message of a stream must carry the token that auth() answered.', {
          hint: 'Send Request(token=...) first, then one Request(data=...) per input.',
        })));
      }
      opened = opts.open(msg.token);
      // The stream's first frames may already wait on it; an unusable token ends the stream at once.
      opened.catch((err: unknown) => finish(toGrpcError(toDlhubError(err))));
      return;
    }
    if (msg.request_oneof === 'token') {
      return finish({ code: Status.INVALID_ARGUMENT, details: 'Only the first message of a stream carries a token; the rest carry data.' });
    }
    const data = msg.data ?? Buffer.alloc(0);
    if (data.length > opts.maxFrameBytes) {
      return finish({
        code: Status.RESOURCE_EXHAUSTED,
        details: `A data frame of ${data.length} bytes is over this service's limit of ${opts.maxFrameBytes} bytes (DLHUB_MAX_INPUT_BYTES).`,
      });
    }
    queue.push(settle(opened, data));
    if (queue.length >= opts.window && !paused) {
      paused = true;
      call.pause();
    }
    void flush();
  };

  call.on('data', onData);
  call.on('end', () => {
    clientDone = true;
    if (!flushing && queue.length === 0) finish();
  });
  // The client went away (closed, cancelled, its process died): nothing is answered to it any more.
  call.on('cancelled', () => {
    finished = true;
    queue.length = 0;
    controller.abort();
  });
}
