/**
 * A TCP proxy on 127.0.0.1 that injects network faults between ferry and a test server, on a
 * seeded schedule: a connection is reset, answered 503 SlowDown or 500 InternalError without
 * reaching the server, stalled (its answer held back past the client's idle timeout), or its
 * answer cut short (inside the headers or the body). Clients should use one connection per
 * request (keep-alive off), so that each fault falls on one request.
 *
 * @module
 */
import { seededRandom as random } from "../_random.ts";

/** The kinds of fault. */
export type Fault = "reset" | "slowdown" | "error500" | "stall" | "truncate";

const FAULTS: Fault[] = ["reset", "slowdown", "error500", "stall", "truncate"];

/** A running proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:port`. */
  endpoint: string;
  /** Connections seen and faults injected, by kind. */
  stats: { connections: number; faults: Record<Fault, number> };
  /** Change the share of connections that get a fault (0 to 1). */
  setRate(rate: number): void;
  stop(): Promise<void>;
}

function xmlAnswer(status: number, reason: string, code: string): Uint8Array {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>${reason}</Message><RequestId>fault</RequestId></Error>`;
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/xml\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Start a proxy in front of `target`.
 *
 * @param target The server's port on 127.0.0.1.
 * @param seed Seed of the fault schedule.
 * @param rate Share of connections that get a fault.
 * @param stallMs How long a stalled answer is held back.
 * @returns The proxy.
 */
export function startFaultProxy(
  target: number,
  seed: number,
  rate: number,
  stallMs: number,
): FaultProxy {
  const rnd = random(seed);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const stats = {
    connections: 0,
    faults: {
      reset: 0,
      slowdown: 0,
      error500: 0,
      stall: 0,
      truncate: 0,
    } as Record<Fault, number>,
  };
  const open = new Set<Deno.Conn>();
  const closeQuietly = (c: Deno.Conn) => {
    open.delete(c);
    try {
      c.close();
    } catch { /* closed */ }
  };
  let stopped = false;

  /** Copy one way; with `limit`, only that many bytes, then stop. */
  const pipe = async (
    from: Deno.Conn,
    to: Deno.Conn,
    delayMs = 0,
    limit = Infinity,
  ) => {
    const buf = new Uint8Array(64 << 10);
    let sent = 0;
    let first = true;
    try {
      while (sent < limit) {
        const n = await from.read(buf);
        if (n === null) break;
        if (first && delayMs > 0) {
          await new Promise((r) => setTimeout(r, delayMs));
        }
        first = false;
        const take = Math.min(n, limit - sent);
        let off = 0;
        while (off < take) off += await to.write(buf.subarray(off, take));
        sent += take;
      }
    } catch { /* either side went away */ }
  };

  const handle = async (client: Deno.Conn) => {
    stats.connections++;
    open.add(client);
    const fault = rnd() < rate ? FAULTS[Math.floor(rnd() * FAULTS.length)]! : undefined;
    const cutAt = 20 + Math.floor(rnd() * 4000);
    if (fault) stats.faults[fault]++;
    try {
      if (fault === "reset" || fault === "slowdown" || fault === "error500") {
        // Read a little of the request first, as a real server would.
        await client.read(new Uint8Array(1024)).catch(() => null);
        if (fault === "slowdown") {
          await client.write(xmlAnswer(503, "Slow Down", "SlowDown"));
        }
        if (fault === "error500") {
          await client.write(
            xmlAnswer(500, "Internal Server Error", "InternalError"),
          );
        }
        return;
      }
      const server = await Deno.connect({
        hostname: "127.0.0.1",
        port: target,
      });
      open.add(server);
      try {
        await Promise.all([
          pipe(client, server).then(() => server.closeWrite().catch(() => {})),
          fault === "stall"
            ? pipe(server, client, stallMs)
            : fault === "truncate"
            ? pipe(server, client, 0, cutAt)
            : pipe(server, client),
        ]);
      } finally {
        closeQuietly(server);
      }
    } catch {
      /* a fault is what we are here for */
    } finally {
      closeQuietly(client);
    }
  };

  (async () => {
    for await (const c of listener) {
      if (stopped) {
        closeQuietly(c);
        break;
      }
      handle(c);
    }
  })().catch(() => {});

  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    stats,
    setRate(r) {
      rate = r;
    },
    stop() {
      stopped = true;
      try {
        listener.close();
      } catch { /* closed */ }
      for (const c of [...open]) closeQuietly(c);
      return Promise.resolve();
    },
  };
}
