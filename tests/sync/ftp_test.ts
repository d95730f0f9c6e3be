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
import { type EngineFixture, engineSuite } from "./engine_suite.ts";

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
    const path = `${s.base}/case${n++}/${name}`;
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
  const side = (s: "src" | "dst") => (s === "src" ? src : dst);
  const written = (b: Backend) =>
    b instanceof FtpBackend ? b.bytesWritten : b instanceof S3Backend ? b.bytesUploaded : undefined;
  return {
    src,
    dst,
    async put(s, key, text, mtime = Date.now()) {
      const b = side(s);
      if (b instanceof LocalBackend) {
        // Written in place, as an editor does (the inode stays: renames stay provable).
        const p = join(b.root, ...key.split("/"));
        await Deno.mkdir(join(p, ".."), { recursive: true });
        await Deno.writeTextFile(p, text);
        await Deno.utime(p, new Date(mtime), new Date(mtime));
        return;
      }
      if (!(await b.rootExists())) await b.createRoot();
      await b.open("write");
      const data = new TextEncoder().encode(text);
      const before = written(b);
      await b.write(key, ReadableStream.from([data]), { mtime, size: data.length });
      // Setup writes are not ferry's.
      if (b instanceof FtpBackend) b.bytesWritten = before!;
      if (b instanceof S3Backend) b.bytesUploaded = before!;
    },
    async read(s, key) {
      const b = side(s);
      if (!(await b.rootExists())) return undefined;
      await b.open("read");
      if ((await b.stat(key))?.kind !== "file") return undefined;
      return await new Response(await b.read(key)).text();
    },
    keepsTimes: (s) => !(timeless && side(s) instanceof FtpBackend),
    rename: (s, from, to) => side(s).move!(from, to),
    remove: (s, key) => side(s).remove(key),
    dstBytesWritten: () => Promise.resolve(written(dst)),
    async cleanup() {
      await src.close();
      await dst.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}
