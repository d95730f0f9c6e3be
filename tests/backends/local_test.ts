import { conformance } from "../backend_conformance.ts";
import { LocalBackend } from "../../lib/backends/local.ts";

conformance("local", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-conf-" });
  return {
    backend: new LocalBackend(dir),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}, { skipNames: (n) => Deno.build.os === "windows" && /[\n"<>?*|:]/.test(n) });

conformance("local (built-in walker)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-conf-" });
  return {
    backend: new LocalBackend(dir, { builtinWalker: true }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}, { skipNames: (n) => Deno.build.os === "windows" && /[\n"<>?*|:]/.test(n) });

conformance("local (walk in a Worker)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-conf-" });
  return {
    backend: new LocalBackend(dir, { listInWorker: true }),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}, { skipNames: (n) => Deno.build.os === "windows" && /[\n"<>?*|:]/.test(n) });
