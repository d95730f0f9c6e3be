/**
 * The engine suite with an FTP server on either side: folder ↔ FTP and FTP ↔ S3 (s3rver)
 * against ftp-srv, folder ↔ FTP against pure-ftpd (MLSD, MFMT) and vsftpd (LIST, MDTM), and
 * folder → proFTPD (which will not rename onto a file), where they are installed (always in CI).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Backend } from "../../lib/backends/backend.ts";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { S3Backend } from "../../lib/backends/s3.ts";
import { startS3rver } from "../servers/s3rver.ts";
import {
  daemonAvailable,
  type FtpServer,
  startFtpSrv,
  startProftpd,
  startPureFtpd,
  startVsftpd,
} from "../servers/ftp.ts";
import { backendCounter, backendFixture, type EngineFixture, engineSuite } from "./engine_suite.ts";
import { skipUnless } from "../_skips.ts";

type Kind = "local" | "ftp" | "s3";

const s3 = await startS3rver(["ftpengine"]);
const servers: Promise<FtpServer>[] = [];
let n = 0;

function on(name: string, start: () => Promise<FtpServer>, pairs: [Kind, Kind][]): void {
  let server: Promise<FtpServer> | undefined;
  const get = () => {
    if (!server) servers.push(server = start());
    return server;
  };
  // ftp-srv has no command that sets a file's time.
  const timeless = name === "ftp-srv";
  for (const [a, b] of pairs) {
    engineSuite(`${a} -> ${b} (${name})`, () => fixture(get, a, b, timeless));
  }
}

on("ftp-srv", () => startFtpSrv(), [["local", "ftp"], ["ftp", "local"], ["ftp", "s3"], [
  "s3",
  "ftp",
]]);
for (
  const [kind, start] of [
    ["pure-ftpd", startPureFtpd],
    ["vsftpd", startVsftpd],
    ["proftpd", startProftpd],
  ] as const
) {
  // proFTPD (no rename onto a file) as a destination only: its difference is in writing.
  const pairs: [Kind, Kind][] = kind === "proftpd"
    ? [["local", "ftp"]]
    : [["local", "ftp"], ["ftp", "local"]];
  if (daemonAvailable(kind)) on(kind, () => start(), pairs);
  else {
    skipUnless(
      false,
      import.meta.url,
      `the ${kind} engine suites: ${kind} is not installed, or the tests do not run as root`,
    );
    Deno.test(`sync ftp (${kind}): the daemon is installed where CI runs`, () => {
      assert.ok(!Deno.env.get("CI"), `${kind} is missing: .ci/run installs it`);
    });
  }
}

Deno.test({
  name: "ftp engine suite: stop the servers",
  fn: async () => {
    await s3.stop();
    for (const s of servers) await (await s).stop();
  },
  sanitizeOps: false,
  sanitizeResources: false,
});

async function fixture(
  server: () => Promise<FtpServer>,
  srcKind: Kind,
  dstKind: Kind,
  timeless: boolean,
): Promise<EngineFixture> {
  const root = await Deno.makeTempDir({ prefix: "ferry-engine-ftp-" });
  const make = async (kind: Kind, name: string, exists: boolean): Promise<Backend> => {
    if (kind === "local") {
      if (exists) await Deno.mkdir(join(root, name));
      return new LocalBackend(join(root, name));
    }
    if (kind === "s3") {
      return new S3Backend({
        bucket: "ftpengine",
        prefix: `case${n++}`,
        display: "s3://ftpengine",
        endpoint: s3.endpoint,
        pathStyle: true,
      });
    }
    const s = await server();
    // At the top of the server's folder: ferry makes a missing root, never its parents.
    const path = `${s.base}/case${n++}-${name}`;
    const b = new FtpBackend({
      host: s.host,
      port: s.port,
      user: s.user,
      password: s.password,
      path,
      secure: false,
      display: `ftp://${s.host}:${s.port}${path}`,
      retryDelay: 10,
    });
    if (exists) await b.createRoot();
    return b;
  };
  const src = await make(srcKind, "src", true);
  const dst = await make(dstKind, "dst", false);
  const fx = backendFixture(src, dst, root, backendCounter);
  return {
    ...fx,
    keepsTimes: (s) => !(timeless && (s === "src" ? src : dst) instanceof FtpBackend),
  };
}
