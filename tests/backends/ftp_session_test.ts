/**
 * The plain-FTP session against a scripted server on 127.0.0.1: commands left to go out with the
 * next request (an upload's rename rides with the next upload), sent on their own when asked,
 * dropped with the connection; and the one watchdog a session, which closes a session whose
 * call makes no progress for the timeout. And the backend's login: a FEAT answered "try again"
 * is asked again.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FtpTimeout, NativeSession } from "../../lib/backends/ftp/session.ts";
import { until } from "../_until.ts";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { daemonAvailable, startPureFtpd } from "../servers/ftp.ts";
import { join } from "node:path";
import { skipUnless } from "../_skips.ts";

/** Stop a test server: no more connections, those open closed, its accept loop ended. */
async function shutDown(
  listener: Deno.Listener,
  conns: Deno.Conn[],
  serve: Promise<unknown>,
): Promise<void> {
  listener.close();
  for (const c of conns) {
    try {
      c.close();
    } catch { /* closed */ }
  }
  await serve.catch(() => {});
}

/** A server that answers each command line from `answers` (no answer: it stays silent). */
function scripted(answers: Record<string, string>) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: string[] = [];
  const conns: Deno.Conn[] = [];
  let ended = 0;
  const serve = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      (async () => {
        const enc = new TextEncoder();
        const dec = new TextDecoder();
        await conn.write(enc.encode("220 ready\r\n"));
        let text = "";
        const buf = new Uint8Array(4096);
        for (let i = 0; i < 10_000; i++) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) {
            ended++; // everything the client sent before it closed has been read
            break;
          }
          text += dec.decode(buf.subarray(0, n));
          for (let at = text.indexOf("\r\n"); at >= 0; at = text.indexOf("\r\n")) {
            const line = text.slice(0, at);
            text = text.slice(at + 2);
            received.push(line);
            const answer = answers[line.split(" ")[0]!];
            if (answer) await conn.write(enc.encode(answer + "\r\n")).catch(() => 0);
          }
        }
      })();
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    received,
    /** Connections whose end the server has read. */
    get ended() {
      return ended;
    },
    stop: () => shutDown(listener, conns, serve),
  };
}

const ANSWERS = { RNFR: "350 ready for RNTO", RNTO: "250 renamed", NOOP: "200 fine" };

Deno.test("ftp session: deferred commands go out first with the next request, and their replies are theirs", async () => {
  const server = scripted(ANSWERS);
  const s = await NativeSession.connect("127.0.0.1", server.port, 5000);
  try {
    const renamed = s.defer(["RNFR /a.tmp", "RNTO /a"]);
    assert.equal(s.pending, true);
    const noop = await s.command("NOOP");
    assert.equal(noop.code, 200);
    assert.deepEqual((await renamed).map((r) => r.code), [350, 250]);
    assert.deepEqual(server.received, ["RNFR /a.tmp", "RNTO /a", "NOOP"]);
    assert.equal(s.pending, false);
  } finally {
    s.close();
    await server.stop();
  }
});

Deno.test("ftp session: flush sends what waits on its own; close drops it with an error", async () => {
  const server = scripted(ANSWERS);
  const s = await NativeSession.connect("127.0.0.1", server.port, 5000);
  try {
    const first = s.defer(["RNFR /b.tmp", "RNTO /b"]);
    await s.flush();
    assert.deepEqual((await first).map((r) => r.code), [350, 250]);
    assert.deepEqual(server.received, ["RNFR /b.tmp", "RNTO /b"]);
    const dropped = s.defer(["RNFR /c.tmp", "RNTO /c"]);
    s.close();
    await assert.rejects(dropped, /closed/);
    await assert.rejects(s.defer(["NOOP"]), /closed/, "a closed session takes nothing more");
    await until("the server read the connection's end", () => server.ended === 1, 5000);
    assert.deepEqual(
      server.received,
      ["RNFR /b.tmp", "RNTO /b"],
      "the dropped rename never went out",
    );
  } finally {
    s.close();
    await server.stop();
  }
});

Deno.test("ftp session: a reply that never comes closes the session after the timeout (one watchdog, no timer a call)", async () => {
  const server = scripted(ANSWERS); // STALL gets no answer
  const s = await NativeSession.connect("127.0.0.1", server.port, 300);
  try {
    assert.equal((await s.command("NOOP")).code, 200);
    const t0 = Date.now();
    await assert.rejects(s.command("STALL"), FtpTimeout);
    const took = Date.now() - t0;
    // The timeout, and at most a tenth more for the watchdog's round (generous for a loaded
    // machine: the point is that it ends, and not before the timeout).
    assert.ok(took >= 290 && took < 3000, `timed out after ${took} ms`);
    assert.equal(s.closed, true);
    await until(
      "the server saw the stalled command",
      () => server.received.includes("STALL"),
      5000,
    );
  } finally {
    s.close();
    await server.stop();
  }
});

Deno.test({
  name:
    "ftp: a FEAT answered 'try again' on the first connection is asked again, never taken for a server without MLST, MFMT and SIZE",
  ignore: skipUnless(
    daemonAvailable("pure-ftpd"),
    import.meta.url,
    "pure-ftpd is not installed, or the tests do not run as root",
  ),
  async fn() {
    const server = await startPureFtpd();
    // A proxy that answers the first connection's FEAT with 421 and closes it; the rest passes.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const conns: Deno.Conn[] = [];
    let first = true;
    const serve = (async () => {
      for await (const client of listener) {
        const upstream = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        conns.push(client, upstream);
        const fault = first;
        first = false;
        upstream.readable.pipeTo(client.writable).catch(() => {});
        (async () => {
          const dec = new TextDecoder();
          let text = "";
          const w = upstream.writable.getWriter();
          for await (const chunk of client.readable) {
            text += dec.decode(chunk);
            for (let at = text.indexOf("\n"); at >= 0; at = text.indexOf("\n")) {
              const line = text.slice(0, at + 1);
              text = text.slice(at + 1);
              if (fault && line.startsWith("FEAT")) {
                await client.write(new TextEncoder().encode("421 Try again later\r\n"));
                client.close();
                upstream.close();
                return;
              }
              await w.write(new TextEncoder().encode(line));
            }
          }
        })().catch(() => {});
      }
    })();
    const b = new FtpBackend({
      host: "127.0.0.1",
      port: (listener.addr as Deno.NetAddr).port,
      user: server.user,
      password: server.password,
      path: "/feat",
      secure: false,
      display: "ftp://127.0.0.1/feat",
      retryDelay: 10,
    });
    try {
      await b.createRoot();
      await b.open("write");
      assert.equal(b.mlsd, true, "MLSD is known: the FEAT was asked again");
      const e = await b.write("a.txt", ReadableStream.from([new Uint8Array([1, 2, 3])]), {
        size: 3,
        mtime: 1_700_000_000_000,
      });
      assert.equal(e.size, 3);
      assert.equal((await Deno.stat(join(server.root, "feat", "a.txt"))).size, 3);
    } finally {
      await b.close();
      await shutDown(listener, conns, serve);
      await server.stop();
    }
  },
});
