import { conformance } from "../backend_conformance.ts";
import { LocalBackend, type LocalOptions } from "../../lib/backends/local.ts";

// The default walker (GNU find on Linux, else the built-in one), the built-in walker, and the
// built-in walker with its Worker doing all the shared work.
const walkers: [string, LocalOptions][] = [
  ["local", {}],
  ["local (built-in walker)", { builtinWalker: true }],
  ["local (walk in a Worker)", { listInWorker: true }],
];
for (const [name, options] of walkers) {
  conformance(name, async () => {
    const dir = await Deno.makeTempDir({ prefix: "ferry-conf-" });
    return {
      backend: new LocalBackend(dir, options),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  }, { skipNames: (n) => Deno.build.os === "windows" && /[\n"<>?*|:]/.test(n) });
}
