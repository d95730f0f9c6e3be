/**
 * The `ferry` command against FTP servers, as a user runs it: pure-ftpd (MLSD, MFMT) and
 * vsftpd (LIST only, two-argument MDTM), plain and with TLS, and ftp-srv; the seed's
 * `ftp:user:pass@host/path` form; the mistakes a user makes. The daemons run where `.ci/run`
 * installed them (root); elsewhere their cases are skipped, and in CI their absence fails.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  daemonAvailable,
  freePort,
  startFtpSrv,
  startPureFtpd,
  startVsftpd,
} from "../servers/ftp.ts";
import { ferry, listFiles, onTerminal, scratch, summaryOf } from "./_run.ts";
import { skipUnless } from "../_skips.ts";

const FILES = {
  "readme.txt": "read me",
  "photos/2024/a.jpg": "aaaa".repeat(100),
  "photos/2024/b.jpg": "bbbb".repeat(200),
  "notes/.hidden": "h",
  "with space/ünï code.txt": "u",
};

const pure = daemonAvailable("pure-ftpd");
const vs = daemonAvailable("vsftpd");
const noPure = () =>
  skipUnless(pure, import.meta.url, "pure-ftpd is not installed, or the tests do not run as root");
const noVs = () =>
  skipUnless(vs, import.meta.url, "vsftpd is not installed, or the tests do not run as root");

Deno.test("ftp daemons for the CLI tests are installed where CI runs", () => {
  if (Deno.env.get("CI")) assert.ok(pure && vs, "pure-ftpd and vsftpd: .ci/run installs them");
});

Deno.test({
  name:
    "ferry sync to pure-ftpd: up, a no-op rerun, a folder rename by RNFR/RNTO, --delete, and back",
  ignore: noPure(),
  fn: async () => {
    const server = await startPureFtpd();
    const s = await scratch(FILES);
    try {
      const to = `${server.url}/sites/docs`;
      // ferry makes the root ("docs"), never its parents: those are the user's (tester is
      // uid 65534 to pure-ftpd).
      await Deno.mkdir(join(server.root, "sites"));
      await Deno.chown(join(server.root, "sites"), 65534, 65534);
      const first = await ferry(["sync", s.src, to, "--json"]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(summaryOf(first.stdout).copied, 5);
      assert.equal(
        await Deno.readTextFile(join(server.root, "sites/docs/with space/ünï code.txt")),
        "u",
      );
      // The time is set on the server (MFMT), to the second.
      const local = (await Deno.stat(join(s.src, "readme.txt"))).mtime!.getTime();
      const remote = (await Deno.stat(join(server.root, "sites/docs/readme.txt"))).mtime!.getTime();
      assert.equal(remote, Math.floor(local / 1000) * 1000);

      const again = summaryOf((await ferry(["sync", s.src, to, "--json"])).stdout);
      assert.deepEqual([again.copied, again.updated, again.bytes], [0, 0, 0]);

      // A folder renamed locally is one rename on the server: no bytes sent.
      await Deno.rename(join(s.src, "photos"), join(s.src, "pictures"));
      const moved = summaryOf((await ferry(["sync", s.src, to, "--delete", "--json"])).stdout);
      // The summary counts files: the folder's two moved in one rename.
      assert.deepEqual([moved.moved, moved.copied, moved.deleted, moved.bytes], [2, 0, 0, 0]);
      assert.deepEqual(listFiles(join(server.root, "sites/docs")), [
        "notes/.hidden",
        "pictures/2024/a.jpg",
        "pictures/2024/b.jpg",
        "readme.txt",
        "with space/ünï code.txt",
      ]);

      await Deno.remove(join(s.src, "readme.txt"));
      const del = summaryOf((await ferry(["sync", s.src, to, "--delete", "--json"])).stdout);
      assert.equal(del.deleted, 1);

      // And back the other way, into a new folder.
      const back = await ferry(["sync", to, s.dst, "--json"]);
      assert.equal(back.code, 0, back.stderr);
      assert.deepEqual(listFiles(s.dst), listFiles(s.src));
      assert.equal(
        await Deno.readTextFile(join(s.dst, "pictures/2024/b.jpg")),
        "bbbb".repeat(200),
      );
      const backAgain = summaryOf((await ferry(["sync", to, s.dst, "--json"])).stdout);
      assert.deepEqual([backAgain.copied, backAgain.updated], [0, 0]);
      // With a new state, twice each way: the files in step are recorded with their exact
      // times (the server lists seconds), so neither run sends anything.
      const other = join(s.dir, "other.db");
      for (const [from, into] of [[to, s.dst], [to, s.dst], [s.src, to], [s.src, to]]) {
        const r = summaryOf(
          (await ferry(["sync", from!, into!, "--state", other, "--json"])).stdout,
        );
        assert.deepEqual([r.copied, r.updated, r.bytes], [0, 0, 0], `${from} -> ${into}`);
      }
    } finally {
      await s.cleanup();
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "ferry sync to vsftpd (LIST only): times set by MDTM, a no-op rerun sends nothing, even without the state",
  ignore: noVs(),
  fn: async () => {
    const server = await startVsftpd();
    const s = await scratch(FILES);
    try {
      // An old file: LIST shows only its day.
      await Deno.utime(join(s.src, "readme.txt"), new Date(2019, 4, 6), new Date(2019, 4, 6));
      const to = `${server.url}/pub/site`;
      const first = await ferry(["sync", s.src, to, "--json"]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(summaryOf(first.stdout).copied, 5);
      const again = summaryOf((await ferry(["sync", s.src, to, "--json"])).stdout);
      assert.deepEqual([again.copied, again.updated, again.bytes], [0, 0, 0]);
      // Without the state, the times the server keeps (to the second, by MDTM) still agree.
      const fresh = join(s.dir, "other.db");
      const noState = await ferry(["sync", s.src, to, "--state", fresh, "--json"]);
      const sum = summaryOf(noState.stdout);
      assert.deepEqual([sum.copied, sum.updated, sum.bytes], [0, 0, 0], noState.stderr);
      // And the state that run recorded (the server's times, to the second, for files ferry
      // did not write in it) makes the next run a no-op too.
      const after = summaryOf(
        (await ferry(["sync", s.src, to, "--state", fresh, "--json"])).stdout,
      );
      assert.deepEqual([after.copied, after.updated, after.bytes], [0, 0, 0]);
      // A file edited within the same minute, to the same size, is still seen (by its stamp).
      await Deno.writeTextFile(join(s.src, "notes/.hidden"), "H");
      const edit = summaryOf((await ferry(["sync", s.src, to, "--json"])).stdout);
      assert.equal(edit.updated, 1);
      assert.equal(await Deno.readTextFile(join(server.root, "pub/site/notes/.hidden")), "H");
    } finally {
      await s.cleanup();
      await server.stop();
    }
  },
});

Deno.test({
  name: "FTPS: pure-ftpd trusted through DENO_CERT, vsftpd with TLS session reuse required",
  ignore: noPure() || noVs(),
  fn: async () => {
    const s = await scratch(FILES);
    for (const start of [() => startPureFtpd({ tls: true }), () => startVsftpd({ tls: true })]) {
      const server = await start();
      try {
        const to = `${server.url}${server.base === "/" ? "" : server.base}/secure`;
        // Not trusted: one line, exit 2.
        const refused = await ferry(["sync", s.src, to]);
        assert.equal(refused.code, 2);
        assert.match(refused.stderr.trim(), /^ferry: error: .*certificate/);
        assert.equal(refused.stderr.trim().split("\n").length, 1);
        // Trusted the way a user does it: the certificate authority in DENO_CERT.
        const env = { DENO_CERT: server.cert! };
        const r = await ferry(["sync", s.src, to, "--json"], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(summaryOf(r.stdout).copied, 5);
        const again = summaryOf((await ferry(["sync", s.src, to, "--json"], { env })).stdout);
        assert.deepEqual([again.copied, again.updated], [0, 0]);
        // --ftp-insecure works too, with a warning.
        const insecure = await ferry([
          "sync",
          to,
          join(s.dir, `back-${server.port}`),
          "--ftp-insecure",
        ]);
        assert.equal(insecure.code, 0, insecure.stderr);
        assert.match(insecure.stderr, /Warning: --ftp-insecure/);
        assert.deepEqual(listFiles(join(s.dir, `back-${server.port}`)), listFiles(s.src));
      } finally {
        await server.stop();
      }
    }
    await s.cleanup();
  },
});

Deno.test("ftp: the seed's ftp:user:pass@host/path form, the password from FERRY_FTP_PASSWORD, and never shown", async () => {
  const password = "Sup3r-secret-pw";
  const server = await startFtpSrv({ password });
  const s = await scratch({ "a.txt": "a", "b/c.txt": "c" });
  try {
    const log = join(s.dir, "logs");
    const state = join(s.dir, "state.db");
    const seed = `ftp:tester:${password}@127.0.0.1:${server.port}/seed`;
    const r = await ferry([
      "sync",
      s.src,
      seed,
      "--json",
      "-vv",
      "--log-file",
      log + "/",
      "--state",
      state,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(summaryOf(r.stdout).copied, 2);
    assert.equal(await Deno.readTextFile(join(server.root, "seed/b/c.txt")), "c");
    // No password in the URL: from the environment.
    const url = `ftp://tester@127.0.0.1:${server.port}/env`;
    const e = await ferry(["sync", s.src, url, "--json", "--state", state], {
      env: { FERRY_FTP_PASSWORD: password },
    });
    assert.equal(e.code, 0, e.stderr);
    assert.equal(summaryOf(e.stdout).copied, 2);
    // Nowhere: output, log files, the state database.
    const logs = [...Deno.readDirSync(log)].map((f) => Deno.readTextFileSync(join(log, f.name)));
    for (const text of [r.stdout, r.stderr, e.stdout, e.stderr, ...logs]) {
      assert.ok(!text.includes(password), text.slice(0, 200));
    }
    const db = new DatabaseSync(state, { readOnly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[];
    for (const { name } of tables) {
      const rows = JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all());
      assert.ok(!rows.includes(password), `${name}: ${rows.slice(0, 200)}`);
    }
    db.close();
    const raw = await Deno.readFile(state);
    assert.ok(!new TextDecoder("latin1").decode(raw).includes(password));
  } finally {
    await s.cleanup();
    await server.stop();
  }
});

Deno.test("ftp mistakes get one line and exit 2: wrong password, nothing listening, no password", async () => {
  const server = await startFtpSrv();
  const s = await scratch({ "a.txt": "a" });
  try {
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [
        ["sync", s.src, `ftp://tester:wrong-pw-123@127.0.0.1:${server.port}/x`],
        /refused user "tester".*check the user name and password/,
      ],
      [
        ["sync", `ftp://tester:pw-secret-1@127.0.0.1:${freePort()}/x`, s.dst],
        /nothing answers at 127\.0\.0\.1 port \d+/,
      ],
      [
        ["sync", s.src, `ftp://tester@127.0.0.1:${server.port}/x`],
        /No password for .*FERRY_FTP_PASSWORD/,
      ],
      [
        ["sync", s.src, `ftp://tester:pw@127.0.0.1:99999/x`],
        /has an invalid port "99999": a port is a number from 1 to 65535/,
      ],
      [["sync", s.src, `ftp://tester:pw@127.0.0.1/x`, "--ftp-connections", "0"], /at least 1/],
    ];
    for (const [args, message] of cases) {
      const r = await ferry(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, message);
      assert.ok(!r.stderr.includes("wrong-pw-123"));
    }
  } finally {
    await s.cleanup();
    await server.stop();
  }
});

Deno.test({
  name: "ftp: a location that is a file on the server is one line and exit 2, either way",
  ignore: noPure(),
  fn: async () => {
    const server = await startPureFtpd();
    const s = await scratch({ "a.txt": "a" });
    try {
      await Deno.writeTextFile(join(server.root, "plain.txt"), "a file");
      const url = `${server.url}/plain.txt`;
      for (const args of [["sync", s.src, url], ["sync", url, s.dst]]) {
        const r = await ferry(args);
        assert.equal(r.code, 2, r.stderr);
        assert.match(
          r.stderr.trim(),
          /^ferry: error: .*"\/plain\.txt" on the server is a file, not a folder$/,
        );
      }
      assert.equal(await Deno.readTextFile(join(server.root, "plain.txt")), "a file");
    } finally {
      await s.cleanup();
      await server.stop();
    }
  },
});

const hasScript = new Deno.Command("sh", { args: ["-c", "command -v script"] }).outputSync()
  .success;

Deno.test({
  name: "ftp: with no password anywhere, ferry asks on a terminal, does not echo it, and uses it",
  ignore: skipUnless(hasScript, import.meta.url, "script (util-linux) is not installed"),
  fn: async () => {
    const password = "typed-pw-42";
    const server = await startFtpSrv({ password });
    const s = await scratch({ "a.txt": "a" });
    try {
      const url = `${server.url.replace(`:${password}`, "")}/asked`;
      const t = onTerminal(["sync", s.src, url]);
      const deadline = Date.now() + 30_000;
      while (!t.screen().includes("Password for tester@127.0.0.1") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(t.screen(), /Password for tester@127\.0\.0\.1: /);
      await t.type(password + "\r");
      const code = await t.done();
      const screen = t.screen();
      assert.equal(code, 0, screen);
      assert.equal(await Deno.readTextFile(join(server.root, "asked/a.txt")), "a");
      assert.ok(!screen.includes(password), `the password was echoed: ${screen}`);
    } finally {
      await s.cleanup();
      await server.stop();
    }
  },
});
