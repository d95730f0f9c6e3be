/**
 * The fault suite against FTP: a proxy between ferry and the server (pure-ftpd where it is
 * installed, else ftp-srv; FERRY_FTP_SERVER names ftp-srv, pure-ftpd, vsftpd or proftpd) resets control
 * connections after a command reached the server, answers 421, holds replies past the client's
 * timeout, refuses new connections with "421 too many connections" and cuts data connections
 * mid-transfer, on a seeded schedule. At 2% of commands and data connections faulted, an
 * upload and a download finish with no failed file; at 20%, every failed file is listed,
 * nothing partial is ever at a real name, and a clean rerun converges with no temporary file
 * left on the server.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { syncOnce } from "../../lib/sync.ts";
import { mirrorOnce } from "../../lib/mirror.ts";
import { StateStore } from "../../lib/state/store.ts";
import { listFiles } from "../cli/_run.ts";
import {
  daemonAvailable,
  startFtpSrv,
  startProftpd,
  startPureFtpd,
  startVsftpd,
} from "../servers/ftp.ts";
import { startFtpFaultProxy } from "../servers/ftp_fault_proxy.ts";
import { Recorder } from "../sync/engine_suite.ts";

// FERRY_FTP_SERVER (ftp-srv, pure-ftpd, vsftpd, proftpd) picks the server; by default pure-ftpd
// where it can run, else ftp-srv. A daemon that cannot run here fails the suite when asked for
// by name (scripts/ftp_fault_rounds.sh asks for each in turn).
const asked = Deno.env.get("FERRY_FTP_SERVER");
const starters = {
  "ftp-srv": startFtpSrv,
  "pure-ftpd": startPureFtpd,
  vsftpd: startVsftpd,
  proftpd: startProftpd,
} as const;
if (asked !== undefined && !(asked in starters)) {
  throw new TypeError(`FERRY_FTP_SERVER="${asked}": one of ${Object.keys(starters).join(", ")}`);
}
const serverKind =
  (asked ?? (daemonAvailable("pure-ftpd") ? "pure-ftpd" : "ftp-srv")) as keyof typeof starters;
const server = await starters[serverKind]();
/** Where the suite's folders go on the server, and on disk. */
const base = server.base.replace(/\/+$/, "");
const onDisk = (name: string) => join(server.root, base, name);
const seed = Number(Deno.env.get("FERRY_FAULT_SEED") ?? Math.floor(Math.random() * 2 ** 31));
console.log(`ftp fault suite: ${serverKind}, seed ${seed}`);
const proxy = startFtpFaultProxy(server.port, seed, 0, 600);

/** A backend that talks through the proxy, with a 0.4 s reply timeout. */
function viaProxy(path: string): FtpBackend {
  return new FtpBackend({
    host: "127.0.0.1",
    port: proxy.port,
    user: server.user,
    password: server.password,
    path,
    secure: false,
    display: `ftp://127.0.0.1:${proxy.port}${path}`,
    timeout: 400,
    retryDelay: 20,
  });
}

async function corpus(root: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    const dir = join(root, `d${i % 6}`, i % 2 ? "deep" : "");
    await Deno.mkdir(dir, { recursive: true });
    const size = 500 + ((i * 7919) % 30_000);
    await Deno.writeFile(join(dir, `f ${i}.bin`), new Uint8Array(size).fill(i & 255));
  }
  const big = new Uint8Array(3 << 20).map((_, i) => (i >> 12) & 255);
  await Deno.writeFile(join(root, "big.bin"), big);
}

async function hashes(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let files: string[] = [];
  try {
    files = listFiles(root);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err; // not made yet
  }
  for (const f of files) {
    if (f.split("/").pop()!.startsWith(".ferry-tmp-")) continue;
    out.set(f, createHash("sha256").update(await Deno.readFile(join(root, f))).digest("hex"));
  }
  return out;
}

function temps(root: string): string[] {
  try {
    return listFiles(root).filter((f) => f.split("/").pop()!.startsWith(".ferry-tmp-"));
  } catch {
    return [];
  }
}

/** Every file at a real name is whole: it has the content of the file of that name in `src`. */
async function nothingPartial(src: string, dst: string): Promise<void> {
  const want = await hashes(src);
  for (const [rel, h] of await hashes(dst)) assert.equal(h, want.get(rel), `${rel} is partial`);
}

function report(what: string): void {
  const f = proxy.stats.faults;
  console.log(
    `ftp fault suite ${what}: ${proxy.stats.commands} commands, ${proxy.stats.data} data ` +
      `connections; faults: ${Object.entries(f).map(([k, v]) => `${k} ${v}`).join(", ")}`,
  );
}

Deno.test("ftp fault suite: at 2% faulted, an upload and a download finish with no failed file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ftpfaults-" });
  try {
    const src = join(dir, "src");
    const back = join(dir, "back");
    await corpus(src);
    proxy.setRate(0.02);
    const up = viaProxy(`${base}/two`);
    const r1 = await syncOnce(new LocalBackend(src), up, { sink: new Recorder(), retryDelay: 20 });
    report("2% upload");
    assert.equal(r1.summary.failed, 0, JSON.stringify(r1.failures));
    assert.equal(r1.summary.copied, 81);
    await up.close();
    const down = viaProxy(`${base}/two`);
    const r2 = await syncOnce(down, new LocalBackend(back), {
      sink: new Recorder(),
      retryDelay: 20,
    });
    report("2% download");
    assert.equal(r2.summary.failed, 0, JSON.stringify(r2.failures));
    await down.close();
    assert.deepEqual(await hashes(back), await hashes(src));
    assert.deepEqual(await hashes(onDisk("two")), await hashes(src));
  } finally {
    proxy.setRate(0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftp fault suite: at 20% faulted, failures are listed, nothing partial at a real name, a rerun converges and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ftpfaults-" });
  try {
    const src = join(dir, "src");
    const back = join(dir, "back");
    const remote = onDisk("twenty");
    await corpus(src);
    const state = StateStore.open(join(dir, "state.db"));
    for (
      const [what, from, to, dst] of [
        ["upload", () => new LocalBackend(src), () => viaProxy(`${base}/twenty`), remote],
        ["download", () => viaProxy(`${base}/twenty`), () => new LocalBackend(back), back],
      ] as const
    ) {
      proxy.setRate(0.2);
      const rec = new Recorder();
      const a = from();
      const b = to();
      try {
        const r = await syncOnce(a, b, { sink: rec, state, retryDelay: 20 });
        report(`20% ${what}`);
        console.log(
          `ftp fault suite 20% ${what}: ${r.summary.failed} failed, ${r.summary.copied} copied`,
        );
        const failedPaths = r.failures.map((f) => f.path);
        assert.equal(failedPaths.length > 0, r.summary.failed > 0, "failures are listed");
        for (const e of rec.of("fail")) {
          assert.ok(e.event === "fail" && failedPaths.includes(e.path), JSON.stringify(e));
        }
      } catch (err) {
        // Opening or listing failed after every retry (the command line says so in one line,
        // "Cannot open location …" or "Cannot list …"): the rerun below still converges.
        report(`20% ${what} (the run stopped: ${(err as Error).message})`);
        assert.ok(err instanceof Error && /^[^\n]+$/.test(err.message), String(err));
      } finally {
        await a.close();
        await b.close();
      }
      await nothingPartial(src, dst);
      proxy.setRate(0);
      const clean = await syncOnce(from(), to(), { sink: new Recorder(), state });
      assert.equal(clean.summary.failed, 0, JSON.stringify(clean.failures));
      assert.deepEqual(temps(remote), [], "temporary files left on the server");
    }
    assert.deepEqual(await hashes(back), await hashes(src));
    assert.deepEqual(await hashes(remote), await hashes(src));
    state.close();
  } finally {
    proxy.setRate(0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ftp fault suite: a mirror of a folder and an FTP server at 20% faulted, changed on both sides, loses nothing and converges", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ftpfaults-" });
  try {
    const local = join(dir, "local");
    const remote = onDisk("mirrored");
    await corpus(local);
    const state = StateStore.open(join(dir, "state.db"));
    const pass = () =>
      mirrorOnce([new LocalBackend(local), viaProxy(`${base}/mirrored`)], {
        sink: new Recorder(),
        state,
        retryDelay: 20,
      });
    /** Every version each path has had on either side. */
    const versions = new Map<string, Set<string>>();
    const note = async (root: string) => {
      for (const [rel, h] of await hashes(root)) {
        if (!versions.has(rel)) versions.set(rel, new Set());
        versions.get(rel)!.add(h);
      }
    };
    await note(local);
    for (let round = 0; round < 2; round++) {
      // Both sides change: a file on each (the server's own files written by the daemon's
      // owner, as another client would), and a new one on each.
      const edit = async (root: string, rel: string, fill: number) => {
        await Deno.mkdir(join(root, rel, ".."), { recursive: true });
        await Deno.writeFile(join(root, rel), new Uint8Array(4000 + round).fill(fill));
        // On the server, as its FTP user would own it (the owner of the folder the suite writes
        // in: 65534 for pure-ftpd and proFTPD, 1 for vsftpd's anonymous user): the folders
        // too, the mirror's root among them when a faulted pass never got to make it.
        if (root === remote && Deno.uid?.() === 0) {
          const { uid, gid } = await Deno.stat(onDisk(""));
          const parts = rel.split("/");
          for (let i = 0; i <= parts.length; i++) {
            await Deno.chown(join(root, ...parts.slice(0, i)), uid, gid);
          }
        }
      };
      if (round > 0) {
        await edit(local, `d1/f ${round}.bin`, 200 + round);
        await edit(remote, `d2/f ${round + 10}.bin`, 210 + round);
        await edit(local, `new/l${round}.bin`, 220 + round);
        await edit(remote, `new/r${round}.bin`, 230 + round);
      }
      await note(local);
      await note(remote);
      proxy.setRate(0.2);
      try {
        const r = await pass();
        report(`20% mirror round ${round}`);
        assert.equal(r.failures.length > 0, r.summary.failed > 0, "failures are listed");
      } catch (err) {
        report(`20% mirror round ${round} (the pass stopped: ${(err as Error).message})`);
        assert.ok(err instanceof Error && /^[^\n]+$/.test(err.message), String(err));
      } finally {
        proxy.setRate(0);
      }
      // Nothing partial anywhere: every file holds a version its path had on some side.
      for (const root of [local, remote]) {
        for (const [rel, h] of await hashes(root)) {
          assert.ok(versions.get(rel)?.has(h), `${rel} in ${root} holds no version it had`);
        }
      }
    }
    const clean = await pass();
    assert.equal(clean.summary.failed, 0, JSON.stringify(clean.failures));
    assert.deepEqual(await hashes(remote), await hashes(local));
    assert.deepEqual(temps(remote), [], "temporary files left on the server");
    assert.deepEqual(temps(local), [], "temporary files left in the folder");
    for (const [rel, hs] of versions) {
      // The last version written on either side is somewhere (the newest wins; none vanish).
      const have = new Set((await hashes(local)).values());
      if (rel.startsWith("new/")) assert.ok([...hs].some((h) => have.has(h)), `${rel} lost`);
    }
    state.close();
  } finally {
    proxy.setRate(0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "ftp fault suite: stop the proxy and the server",
  fn: async () => {
    await proxy.stop();
    await server.stop();
  },
  sanitizeOps: false,
  sanitizeResources: false,
});
