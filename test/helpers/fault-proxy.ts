// A TCP proxy for fault tests: it sits between the desktop (or dockerd) and the hub or registry on
// loopback and passes bytes through, except where a rule says to cut a response part-way, flip one
// of its bytes, or hold it back while the test does something (kill the hub) and then drop the
// connection. It reads just enough HTTP/1.1 to know which request a response answers: requests on
// one connection are answered in order, and neither Go's client nor Node's pipelines them.
import { createServer, connect, type Server, type Socket } from 'node:net';

/** A request as the proxy saw it go by. */
export interface SeenRequest {
  method: string;
  path: string;
}

/** What to do to the responses of matching requests. */
export interface FaultRule {
  match: (r: SeenRequest) => boolean;
  /**
   * cut: pass the headers and `bodyBytes` bytes of the body, then drop both connections;
   * tamper: flip the body's byte at `bodyBytes` and pass everything on;
   * drop: pass nothing, run `onResponse`, then drop both connections;
   * pass: run `onResponse`, then pass the response on as it comes.
   */
  action: 'cut' | 'tamper' | 'drop' | 'pass';
  bodyBytes?: number;
  /** How many responses the rule applies to (default: all while it is set). */
  times?: number;
  /** Runs when a matching response starts to come back (before any of it is passed on). */
  onResponse?: (r: SeenRequest) => void | Promise<void>;
}

/** A running proxy. */
export interface FaultProxy {
  port: number;
  /** host:port of the proxy. */
  address: string;
  /** Every request seen, in order. */
  seen: SeenRequest[];
  /** Responses a rule acted on: cut, changed or dropped. */
  hits: SeenRequest[];
  /** The rule in force, or undefined to pass everything. */
  rule: FaultRule | undefined;
  /** Called with each request as it goes by. */
  onRequest: ((r: SeenRequest) => void) | undefined;
  /** Stop accepting and drop every open connection: the far side looks down. */
  pause(): Promise<void>;
  /** Accept again on the same port. */
  resume(): Promise<void>;
  close(): Promise<void>;
}

const REQUEST_LINE = /(?:^|\r\n)(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\/\S*) HTTP\/1\.[01]\r\n/g;

/** Start a proxy on a free loopback port that forwards to `target` (host:port). */
export async function startFaultProxy(target: () => string): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  function handle(client: Socket): void {
    const [host, p] = target().split(':');
    const upstream = connect(Number(p), host ?? '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    // While a cut response's last bytes are on their way, the upstream's close must not drop them.
    let cutting = false;
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (!cutting) client.destroy();
    });
    client.on('error', drop);
    upstream.on('error', drop);

    // The request being answered on this connection, and how far its response has come.
    let current: SeenRequest | undefined;
    let acting: FaultRule | undefined;
    let sent = 0;
    let head = Buffer.alloc(0);
    let bodyAt: number | undefined;
    let held = false;

    client.on('data', (chunk: Buffer) => {
      if (cutting) return;
      for (const m of chunk.toString('latin1').matchAll(REQUEST_LINE)) {
        current = { method: m[1] as string, path: m[2] as string };
        proxy.seen.push(current);
        proxy.onRequest?.(current);
        const rule = proxy.rule;
        acting = rule && (rule.times === undefined || rule.times > 0) && rule.match(current) ? rule : undefined;
        if (acting && acting.times !== undefined) acting.times -= 1;
        sent = 0;
        head = Buffer.alloc(0);
        bodyAt = undefined;
        held = false;
      }
      upstream.write(chunk);
    });

    upstream.on('data', (chunk: Buffer) => {
      const rule = acting;
      if (cutting) return;
      if (!rule || !current) {
        client.write(chunk);
        return;
      }
      if (!held) {
        held = true;
        if (rule.action === 'drop' || rule.action === 'pass') proxy.hits.push(current);
        if (rule.onResponse || rule.action === 'drop') {
          upstream.pause();
          void Promise.resolve(rule.onResponse?.(current)).finally(() => {
            if (rule.action === 'drop') drop();
            else upstream.resume();
          });
          if (rule.action === 'drop') return;
        }
      }
      if (bodyAt === undefined) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end >= 0) bodyAt = end + 4;
      }
      const at = bodyAt === undefined ? undefined : bodyAt + (rule.bodyBytes ?? 0);
      if (rule.action === 'cut' && at !== undefined && sent + chunk.length > at) {
        cutting = true;
        proxy.hits.push(current);
        upstream.destroy();
        client.write(chunk.subarray(0, Math.max(0, at - sent)), () => client.destroy());
        return;
      }
      let out = chunk;
      if (rule.action === 'tamper' && at !== undefined && at >= sent && at < sent + chunk.length) {
        proxy.hits.push(current);
        out = Buffer.from(chunk);
        out[at - sent] = (out[at - sent] as number) ^ 0x20;
      }
      sent += chunk.length;
      client.write(out);
    });
  }

  async function listen(on: number): Promise<number> {
    const s = createServer(handle);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(on, '127.0.0.1', () => resolve());
    });
    server = s;
    const a = s.address();
    return typeof a === 'object' && a ? a.port : on;
  }

  async function stop(): Promise<void> {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  port = await listen(0);
  const proxy: FaultProxy = {
    port,
    address: `127.0.0.1:${port}`,
    seen: [],
    hits: [],
    rule: undefined,
    onRequest: undefined,
    pause: stop,
    async resume() {
      if (!server) await listen(port);
    },
    close: stop,
  };
  return proxy;
}
