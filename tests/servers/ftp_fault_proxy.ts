/**
 * A proxy on 127.0.0.1 in front of an FTP server that injects faults on a seeded schedule: a
 * control connection reset just after a command reached the server (it acts, the client never
 * hears), a command answered "421" and the connection closed, a reply held back past the
 * client's timeout, a new connection refused with "421 too many connections", and a data
 * connection cut after a random number of bytes. Passive replies (227, 229) are rewritten so
 * that data connections pass through the proxy too. Plain FTP only (TLS cannot be rewritten).
 *
 * @module
 */
import { seededRandom as random } from "../_random.ts";

/** The kinds of fault. */
export type FtpFault =
  | "reset"
  | "answer421"
  | "stall"
  | "refuse421"
  | "cutData";

/** A running proxy. */
export interface FtpFaultProxy {
  port: number;
  /** Commands and data connections seen, and faults injected by kind. */
  stats: { commands: number; data: number; faults: Record<FtpFault, number> };
  /** Change the share of commands and data connections that get a fault (0 to 1). */
  setRate(rate: number): void;
  stop(): Promise<void>;
}

const enc = new TextEncoder();

/**
 * Start a proxy in front of the FTP server at `target` on 127.0.0.1.
 *
 * @param target The server's control port.
 * @param seed Seed of the fault schedule.
 * @param rate Share of commands (and of data connections) that get a fault.
 * @param stallMs How long a stalled reply is held back.
 * @returns The proxy.
 */
export function startFtpFaultProxy(
  target: number,
  seed: number,
  rate: number,
  stallMs: number,
): FtpFaultProxy {
  const rnd = random(seed);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const stats = {
    commands: 0,
    data: 0,
    faults: {
      reset: 0,
      answer421: 0,
      stall: 0,
      refuse421: 0,
      cutData: 0,
    } as Record<
      FtpFault,
      number
    >,
  };
  const open = new Set<Deno.Conn | Deno.Listener>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const close = (c: Deno.Conn | Deno.Listener) => {
    if (!open.delete(c)) return;
    try {
      c.close();
    } catch { /* closed already */ }
  };
  const pick = <T>(kinds: T[]): T => kinds[Math.floor(rnd() * kinds.length)]!;

  /** One passive data connection through the proxy; returns the proxy's port for it. */
  const dataProxy = (port: number): number => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    open.add(l);
    const t = setTimeout(() => close(l), 10_000);
    timers.add(t);
    (async () => {
      let client: Deno.Conn;
      try {
        client = await l.accept();
      } catch {
        return;
      }
      clearTimeout(t);
      close(l);
      open.add(client);
      stats.data++;
      let server: Deno.Conn;
      try {
        server = await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        close(client);
        return;
      }
      open.add(server);
      // A cut: after a random number of bytes (in either direction), both ends close at once.
      let budget = rnd() < rate ? Math.floor(rnd() * 48_000) : Infinity;
      if (budget !== Infinity) stats.faults.cutData++;
      const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
        const buf = new Uint8Array(16 << 10);
        try {
          for (;;) {
            const n = await from.read(buf);
            if (n === null) break;
            const take = Math.min(n, budget);
            if (take > 0) await to.write(buf.subarray(0, take));
            budget -= take;
            if (budget <= 0) break;
          }
        } catch { /* one side went away */ }
        if (budget <= 0) {
          close(from);
          close(to);
          return;
        }
        // A clean end: pass it on (the other direction may still be open).
        try {
          await to.closeWrite();
        } catch {
          close(to);
        }
      };
      await Promise.all([pipe(client, server), pipe(server, client)]);
      close(client);
      close(server);
    })();
    return (l.addr as Deno.NetAddr).port;
  };

  const serve = async (client: Deno.Conn) => {
    open.add(client);
    if (rnd() < rate / 2) {
      stats.faults.refuse421++;
      await client.write(enc.encode("421 Too many connections (fault)\r\n"))
        .catch(() => {});
      close(client);
      return;
    }
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: target });
    } catch {
      close(client);
      return;
    }
    open.add(server);
    let stallNext = false;
    let loggedIn = false;
    const end = () => {
      close(client);
      close(server);
    };
    // Server to client, a line at a time: passive replies rewritten, stalls applied.
    const down = (async () => {
      const dec = new TextDecoder();
      let pending = "";
      const buf = new Uint8Array(16 << 10);
      try {
        for (;;) {
          const n = await server.read(buf);
          if (n === null) break;
          pending += dec.decode(buf.subarray(0, n), { stream: true });
          let nl: number;
          while ((nl = pending.indexOf("\n")) >= 0) {
            let line = pending.slice(0, nl + 1);
            pending = pending.slice(nl + 1);
            const pasv = /^227 .*?\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(
              line,
            );
            const epsv = /^229 .*?\(\|\|\|(\d+)\|\)/.exec(line);
            if (pasv) {
              const p = dataProxy(Number(pasv[5]) * 256 + Number(pasv[6]));
              line = `227 Entering Passive Mode (127,0,0,1,${p >> 8},${p & 255}).\r\n`;
            } else if (epsv) {
              line = `229 Entering Extended Passive Mode (|||${dataProxy(Number(epsv[1]))}|)\r\n`;
            }
            if (/^230 /.test(line)) loggedIn = true;
            if (stallNext && /^\d{3} /.test(line)) {
              stallNext = false;
              await new Promise<void>((r) => {
                const t = setTimeout(() => {
                  timers.delete(t);
                  r();
                }, stallMs);
                timers.add(t);
              });
            }
            await client.write(enc.encode(line));
          }
        }
      } catch { /* closed */ }
      end();
    })();
    // Client to server, a command at a time, each one a chance of a fault once logged in.
    const up = (async () => {
      const dec = new TextDecoder();
      let pending = "";
      const buf = new Uint8Array(16 << 10);
      try {
        for (;;) {
          const n = await client.read(buf);
          if (n === null) break;
          pending += dec.decode(buf.subarray(0, n), { stream: true });
          let nl: number;
          while ((nl = pending.indexOf("\n")) >= 0) {
            const line = pending.slice(0, nl + 1);
            pending = pending.slice(nl + 1);
            stats.commands++;
            const fault = loggedIn && !/^QUIT/i.test(line) && rnd() < rate
              ? pick<FtpFault>(["reset", "answer421", "stall"])
              : undefined;
            if (fault) stats.faults[fault]++;
            if (fault === "answer421") {
              await client.write(
                enc.encode("421 Service not available (fault)\r\n"),
              );
              end();
              return;
            }
            if (fault === "stall") stallNext = true;
            await server.write(enc.encode(line));
            if (fault === "reset") {
              // The server got the command and acts on it; the client never hears back.
              await new Promise((r) => setTimeout(r, 5));
              end();
              return;
            }
          }
        }
      } catch { /* closed */ }
      end();
    })();
    await Promise.all([down, up]);
  };

  (async () => {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await listener.accept();
      } catch {
        return;
      }
      serve(c);
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    stats,
    setRate(r: number) {
      rate = r;
    },
    stop() {
      listener.close();
      for (const t of timers) clearTimeout(t);
      for (const c of [...open]) close(c);
      return Promise.resolve();
    },
  };
}
