import assert from "node:assert/strict";
import { join } from "node:path";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { conformance } from "../backend_conformance.ts";

conformance("zip", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-zip-" });
  const path = join(dir, "a.zip");
  const backend = new ZipBackend(path);
  await backend.createRoot();
  return {
    backend,
    cleanup: () => Deno.remove(dir, { recursive: true }),
    reopen: () => Promise.resolve(new ZipBackend(path)),
  };
});

Deno.test("zip: a new archive a killed run left half made is tidied on open, archive or not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-zip-" });
  try {
    const path = join(dir, "a.zip");
    // A process id no process has (above Linux's pid_max).
    const left = `${path}.ferry-new-4194400`;
    await Deno.writeFile(left, new Uint8Array(22));
    assert.deepEqual(await new ZipBackend(path).open(), { exists: false });
    if (Deno.build.os === "linux") await assert.rejects(Deno.stat(left), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
