/**
 * What a user is told when an FTP location goes wrong: one line on stderr each, and the right
 * exit code.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { daemonAvailable, startFtpSrv, startPureFtpd, startVsftpd } from "../servers/ftp.ts";
import { startFtpFaultProxy } from "../servers/ftp_fault_proxy.ts";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { syncOnce } from "../../lib/sync.ts";
import { Recorder } from "../sync/engine_suite.ts";
import { wrapBackend } from "../_wrap.ts";
import { skipUnless } from "../_skips.ts";
import { ferry, scratch } from "./_run.ts";

const pure = daemonAvailable("pure-ftpd");
const vs = daemonAvailable("vsftpd");
const noDaemons = () =>
  skipUnless(
    pure && vs,
    import.meta.url,
    "pure-ftpd or vsftpd is not installed, or the tests do not run as root",
  );
const noVs = () =>
  skipUnless(vs, import.meta.url, "vsftpd is not installed, or the tests do not run as root");

/**
 * A TCP server on 127.0.0.1 that says `greeting` (or nothing) to whoever connects, and
 * answers each line it is sent with what `answer` returns (null: it closes the connection).
 */
function tinyServer(
  greeting?: string,
  answer?: (line: string) => string | null,
): { port: number; stop: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const c of listener) {
      conns.add(c);
      if (greeting !== undefined) c.write(new TextEncoder().encode(greeting)).catch(() => {});
      (async () => {
        const buf = new Uint8Array(4096);
        const dec = new TextDecoder();
        let text = "";
        try {
          for (let n; (n = await c.read(buf)) !== null;) {
            text += dec.decode(buf.subarray(0, n));
            for (let nl; answer && (nl = text.indexOf("\n")) >= 0;) {
              const reply = answer(text.slice(0, nl).trim());
              text = text.slice(nl + 1);
              if (reply === null) {
                conns.delete(c);
                c.close();
                return;
              }
              await c.write(new TextEncoder().encode(reply + "\r\n"));
            }
          }
        } catch { /* closed */ }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    stop: async () => {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
      await serving;
    },
  };
}

Deno.test("ftp: a port that never greets, or greets as SSH, is not an FTP server: one line, exit 2, within seconds", async () => {
  const silent = tinyServer();
  const ssh = tinyServer("SSH-2.0-OpenSSH_9.6p1 Debian\r\n");
  const s = await scratch({ "a.txt": "a" });
  try {
    const cases: [string, RegExp][] = [
      [`ftp://u:pw@127.0.0.1:${silent.port}/x`, /is not an FTP server: no FTP greeting within/],
      [`ftps://u:pw@127.0.0.1:${silent.port}/x`, /is not an FTP server: no FTP greeting within/],
      [`ftp://u:pw@127.0.0.1:${ssh.port}/x`, /is not an FTP server: it greeted with "SSH-2\.0-/],
    ];
    for (const [url, says] of cases) {
      for (const args of [["sync", s.src, url], ["sync", url, s.dst]]) {
        const started = Date.now();
        const r = await ferry(args);
        const took = Date.now() - started;
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, says);
        // 8 s for the greeting, and a process's start on a busy machine.
        assert.ok(took < 25_000, `${args.join(" ")} took ${took} ms`);
      }
    }
  } finally {
    await s.cleanup();
    await silent.stop();
    await ssh.stop();
  }
});

Deno.test("ftp: a server gone mid-upload stops the run after three unreachable files, in one line", async () => {
  const server = await startFtpSrv();
  const proxy = startFtpFaultProxy(server.port, 1, 0, 0);
  let gone = false;
  const stopProxy = async () => {
    if (!gone) await proxy.stop();
    gone = true;
  };
  const dir = await Deno.makeTempDir({ prefix: "ferry-ftpgone-" });
  try {
    for (let i = 0; i < 40; i++) {
      await Deno.writeTextFile(join(dir, `f${String(i).padStart(2, "0")}.txt`), `file ${i}`);
    }
    const ftp = new FtpBackend({
      host: "127.0.0.1",
      port: proxy.port,
      user: server.user,
      password: server.password,
      path: "/up",
      secure: false,
      display: `ftp://127.0.0.1:${proxy.port}/up`,
      retryDelay: 10,
    });
    // The server goes away once three files are there.
    let written = 0;
    const dst = wrapBackend(ftp, {
      write: async (k, d, m) => {
        const e = await ftp.write(k, d, m);
        if (++written === 3) await stopProxy();
        return e;
      },
    });
    const rec = new Recorder();
    const r = await syncOnce(new LocalBackend(dir), dst, { sink: rec, retryDelay: 10 });
    await ftp.close();
    const fails = rec.of("fail");
    const stopped = rec.events.filter((e) => e.event === "note" && /^Stopped: /.test(e.message));
    assert.equal(stopped.length, 1, JSON.stringify(rec.events.filter((e) => e.event === "note")));
    assert.match(
      (stopped[0] as { message: string }).message,
      /^Stopped: nothing answers at 127\.0\.0\.1 port \d+ .*; \d+ operation\(s\) not attempted$/,
    );
    // The files under way when it went (one a transfer slot), then three that found nobody:
    // never a line for every file left.
    assert.ok(fails.length <= ftp.caps.concurrency + 3, `${fails.length} failures reported`);
    assert.ok(r.summary.failed > 0);
  } finally {
    await stopProxy();
    await Deno.remove(dir, { recursive: true });
    await server.stop();
  }
});

Deno.test("ftp: a connection reset at every login is a network fault: one line, exit 1, not bad input (2)", async () => {
  // Greets, asks for the password, and drops the connection when it comes.
  const server = tinyServer(
    "220 ready\r\n",
    (line) => /^USER /i.test(line) ? "331 password please" : /^PASS /i.test(line) ? null : "200 ok",
  );
  const s = await scratch({ "a.txt": "a" });
  try {
    const url = `ftp://u:pw@127.0.0.1:${server.port}/x`;
    for (const args of [["sync", s.src, url], ["sync", url, s.dst]]) {
      const r = await ferry(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /connection to 127\.0\.0\.1 port \d+ failed \d+ times/);
    }
  } finally {
    await s.cleanup();
    await server.stop();
  }
});

Deno.test({
  name:
    "ftp: TLS on one side only, or a certificate not trusted, says so (not the password): one line, exit 2",
  ignore: noDaemons(),
  fn: async () => {
    const tls = await startVsftpd({ tls: true });
    const pureTls = await startPureFtpd({ tls: true });
    const plain = await startPureFtpd();
    const s = await scratch({ "a.txt": "a" });
    try {
      const cases: [string, RegExp][] = [
        [
          `ftp://anonymous@127.0.0.1:${tls.port}/pub/x`,
          /the server accepts only TLS \(it said "Anonymous sessions must use encryption\."\): use ftps:\/\/$/,
        ],
        [
          `ftp://tester:${pureTls.password}@127.0.0.1:${pureTls.port}/x`,
          /the server accepts only TLS \(it said ".*cleartext.*"\): use ftps:\/\/$/,
        ],
        [
          `ftps://tester:${plain.password}@127.0.0.1:${plain.port}/x`,
          /the server does not offer TLS \(it answered AUTH TLS with "5\d\d .*"\): use ftp:\/\/ for it$/,
        ],
        [
          `ftps://anonymous@127.0.0.1:${tls.port}/pub/x`,
          /certificate is not trusted .*DENO_CERT=ca\.pem.*--ftp-insecure$/,
        ],
      ];
      for (const [url, says] of cases) {
        const r = await ferry(["sync", s.src, url]);
        assert.equal(r.code, 2, `${url}: ${r.stderr}`);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, says);
        assert.doesNotMatch(lines[0]!, /password/);
      }
    } finally {
      await s.cleanup();
      await tls.stop();
      await pureTls.stop();
      await plain.stop();
    }
  },
});

Deno.test("ftp: a destination root is made, never its missing parents: one line, exit 3, nothing made", async () => {
  const server = await startFtpSrv();
  const s = await scratch({ "a.txt": "a" });
  try {
    const missing = await ferry(["sync", s.src, `${server.url}/gone/backup`]);
    assert.equal(missing.code, 3, missing.stderr);
    const lines = missing.stderr.trim().split("\n");
    assert.equal(lines.length, 1, missing.stderr);
    assert.match(
      lines[0]!,
      /^ferry: error: The folder that should hold "ftp:\/\/tester:\*\*\*@127\.0\.0\.1:\d+\/gone\/backup" does not exist on the server: create "\/gone" there first/,
    );
    assert.deepEqual([...Deno.readDirSync(server.root)], []);
    // With its parent there, the root is made.
    await Deno.mkdir(join(server.root, "gone"));
    const made = await ferry(["sync", s.src, `${server.url}/gone/backup`]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(await Deno.readTextFile(join(server.root, "gone/backup/a.txt")), "a");
  } finally {
    await s.cleanup();
    await server.stop();
  }
});

for (
  const [name, start, skip] of [
    ["ftp-srv", startFtpSrv, () => false],
    ["vsftpd", startVsftpd, noVs],
  ] as const
) {
  Deno.test({
    name:
      `ftp: a location that is a file on a server without MLST (${name}) is one line and exit 2, either way`,
    ignore: skip(),
    fn: async () => {
      const s = await scratch({ "a.txt": "a" });
      const server = await start();
      try {
        const base = server.base === "/" ? "" : server.base;
        await Deno.writeTextFile(join(server.root, base, "plain.txt"), "a file");
        const url = `${server.url}${base}/plain.txt`;
        for (const args of [["sync", s.src, url], ["sync", url, s.dst]]) {
          const r = await ferry(args);
          assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
          assert.match(
            r.stderr.trim(),
            /^ferry: error: .*"(\/pub)?\/plain\.txt" on the server is a file, not a folder$/,
          );
        }
        assert.equal(await Deno.readTextFile(join(server.root, base, "plain.txt")), "a file");
      } finally {
        await server.stop();
        await s.cleanup();
      }
    },
  });
}
