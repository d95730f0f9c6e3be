/**
 * The backend conformance suite against three FTP servers: ftp-srv (LIST only, no way to set a
 * time), pure-ftpd (MLSD, MFMT) and vsftpd (LIST, two-argument MDTM), the daemons also with
 * TLS required (vsftpd with TLS session reuse required on data connections). The daemons
 * run where `.ci/run` installed them (root only); elsewhere their cases are skipped, and in CI
 * their absence fails.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { conformance } from "../backend_conformance.ts";
import {
  daemonAvailable,
  type FtpServer,
  startFtpSrv,
  startProftpd,
  startPureFtpd,
  startVsftpd,
} from "../servers/ftp.ts";
import { join } from "node:path";
import { StateStore } from "../../lib/state/store.ts";
import { skipUnless } from "../_skips.ts";

// FTP sends names on a line: none may hold a line break. ftp-srv also drops `"` from names.
const noNewline = (n: string) => n.includes("\n");
const ftpSrvNames = (n: string) => noNewline(n) || n.includes('"');
let n = 0;

function suite(
  name: string,
  start: () => Promise<FtpServer>,
  stamps: "set" | "upload" | undefined,
  skipNames = noNewline,
  tls = false,
): void {
  let server: Promise<FtpServer> | undefined;
  const fixture = async () => {
    const s = await (server ??= start());
    const path = `${s.base}/case${n++}`;
    const make = () =>
      new FtpBackend({
        host: s.host,
        port: s.port,
        user: s.user,
        password: s.password,
        path,
        secure: tls,
        // The test's own certificate authority is not in this process's trust store.
        ...(tls ? { insecure: true } : {}),
        display: `ftp://${s.host}:${s.port}${path}`,
        retryDelay: 10,
      });
    const backend = make();
    await backend.createRoot();
    return {
      backend,
      cleanup: () => Promise.resolve(),
      reopen: () => Promise.resolve(make()),
    };
  };
  conformance(`ftp (${name})`, fixture, {
    skipNames,
    ...(stamps ? { stampsOfSizeAndTime: stamps } : {}),
  });
  Deno.test({
    name: `ftp (${name}): stop the server`,
    fn: async () => {
      if (server) await (await server).stop();
    },
    sanitizeOps: false,
    sanitizeResources: false,
  });
}

// ftp-srv lists with LIST and cannot set a time; pure-ftpd has MLSD (a unique id per file);
// vsftpd lists with LIST and sets times.
suite("ftp-srv", () => startFtpSrv(), "upload", ftpSrvNames);

for (
  const [kind, start, stamps] of [
    ["pure-ftpd", () => startPureFtpd(), undefined],
    ["vsftpd", () => startVsftpd(), "set"],
  ] as const
) {
  if (daemonAvailable(kind)) {
    suite(kind, start, stamps);
    // With TLS the sessions run on basic-ftp (vsftpd requires the data connections to resume
    // the control connection's TLS session).
    const tls = () => kind === "vsftpd" ? startVsftpd({ tls: true }) : startPureFtpd({ tls: true });
    suite(`${kind} + TLS`, tls, stamps, noNewline, true);
  } else {
    skipUnless(
      false,
      import.meta.url,
      `the ${kind} suites (also with TLS): ${kind} is not installed, or the tests do not run as root`,
    );
    Deno.test(`ftp (${kind}): the daemon is installed where CI runs`, () => {
      assert.ok(!Deno.env.get("CI"), `${kind} is missing: .ci/run installs it`);
    });
  }
}

// proFTPD with AllowOverwrite off refuses to rename onto a file: every overwrite of the suite
// goes through the delete-then-rename path, with its journal window.
if (daemonAvailable("proftpd")) {
  suite("proftpd, no rename over a file", () => startProftpd(), undefined);
} else {
  skipUnless(
    false,
    import.meta.url,
    "the proftpd suite: proftpd is not unpacked, or the tests do not run as root",
  );
  Deno.test("ftp (proftpd): the daemon is installed where CI runs", () => {
    assert.ok(!Deno.env.get("CI"), "proftpd is missing: .ci/run unpacks it");
  });
}

Deno.test("ftp: a run killed between deleting the old file and renaming the upload is finished by the next", async () => {
  const server = await startFtpSrv();
  const state = StateStore.open(":memory:");
  try {
    const make = () =>
      new FtpBackend({
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        path: "/swap",
        secure: false,
        display: "ftp://swap",
        retryDelay: 10,
      });
    const b = make();
    await b.createRoot();
    await b.open("write");
    // What a killed run leaves: the complete upload at its temporary name, the old file
    // deleted, and the journal's note of the window.
    const tmp = join(server.root, "swap", ".ferry-tmp-4194400-0123456789ab");
    await Deno.writeTextFile(tmp, "the new version");
    state.add(b.id, "doc.txt", "swap:/swap/.ferry-tmp-4194400-0123456789ab");
    // And a temporary name of a run that died mid-upload, named by that run's journal row.
    // (A temporary name carries its process's id in base 36; no process has this one.)
    const half = join(server.root, "swap", `.ferry-tmp-${(4194400).toString(36)}-ba9876543210`);
    await Deno.writeTextFile(half, "half");
    state.add(b.id, "", "run:4194400");
    await b.close();

    const again = make();
    await again.open("write");
    await again.recoverUploads(state);
    assert.equal(await Deno.readTextFile(join(server.root, "swap", "doc.txt")), "the new version");
    const listing = await again.list();
    assert.deepEqual(listing.entries.map((e) => e.key), ["doc.txt"]);
    // The listing deleted the dead run's temporary name, and its row is gone.
    await assert.rejects(Deno.stat(half), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(tmp), Deno.errors.NotFound);
    assert.deepEqual(state.list(again.id), []);
    await again.close();
  } finally {
    state.close();
    await server.stop();
  }
});
