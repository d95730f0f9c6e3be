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
