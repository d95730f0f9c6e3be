/**
 * The engine suite with a ZIP archive on either side: folder ↔ archive and archive ↔ S3
 * (s3rver).
 *
 * @module
 */
import { join } from "node:path";
import type { Backend } from "../../lib/backends/backend.ts";
import { LocalBackend } from "../../lib/backends/local.ts";
import { S3Backend } from "../../lib/backends/s3.ts";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { startS3rver } from "../servers/s3rver.ts";
import { backendCounter, backendFixture, type EngineFixture, engineSuite } from "./engine_suite.ts";

type Kind = "local" | "zip" | "s3";

const server = await startS3rver(["zipengine"]);
let n = 0;

engineSuite("local -> zip", () => fixture("local", "zip"));
engineSuite("zip -> local", () => fixture("zip", "local"));
engineSuite("zip -> s3", () => fixture("zip", "s3"));
engineSuite("s3 -> zip", () => fixture("s3", "zip"));

Deno.test({
  name: "zip engine suite: stop the S3 test server",
  fn: () => server.stop(),
  sanitizeOps: false,
  sanitizeResources: false,
});

async function fixture(srcKind: Kind, dstKind: Kind): Promise<EngineFixture> {
  const root = await Deno.makeTempDir({ prefix: "ferry-engine-zip-" });
  const make = async (kind: Kind, name: string, exists: boolean): Promise<Backend> => {
    if (kind === "local") {
      if (exists) await Deno.mkdir(join(root, name));
      return new LocalBackend(join(root, name));
    }
    if (kind === "s3") {
      return new S3Backend({
        bucket: "zipengine",
        prefix: `case${n++}`,
        display: "s3://zipengine",
        endpoint: server.endpoint,
        pathStyle: true,
      });
    }
    const z = new ZipBackend(join(root, name + ".zip"));
    if (exists) await z.createRoot();
    return z;
  };
  const src = await make(srcKind, "src", true);
  const dst = await make(dstKind, "dst", false);
  return backendFixture(src, dst, root, backendCounter);
}
