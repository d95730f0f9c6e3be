/**
 * Backends register themselves: a kind the test registers (`mem:` over MemoryBackend) is
 * parsed, compared and opened through the entry points the built-in kinds use, and the CLI
 * runs with it, with no edit anywhere else.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { BackendKind } from "../../lib/backends/kind.ts";
import { comparePaths } from "../../lib/backends/local/same_place.ts";
import { MemoryBackend } from "../../lib/backends/memory.ts";
import { openLocation } from "../../lib/backends/open.ts";
import { backendKinds, registerBackend } from "../../lib/backends/registry.ts";
import { checkDistinct } from "../../lib/cli/distinct.ts";
import { main } from "../../lib/cli/main.ts";
import { UsageError } from "../../lib/errors.ts";
import { parseLocation } from "../../lib/location.ts";

/** `mem:store/path`: a folder of an in-memory store that lives as long as the process. */
interface MemLocation {
  kind: "mem";
  store: string;
  path: string;
  text: string;
}

const stores = new Map<string, MemoryBackend>();

const mem: BackendKind<MemLocation> = {
  name: "mem",
  schemes: ["mem"],
  locations: ["mem"],
  spellings: ["mem:"],
  parse: (_scheme, rest, text) => {
    const [store = "", ...path] = rest.split("/");
    if (store === "") throw new UsageError(`Location "${text}" names no store: write mem:store`);
    return { kind: "mem", store, path: path.join("/"), text };
  },
  compare: (a, b) => a.store === b.store ? comparePaths(a.path, b.path) : "apart",
  open: (loc) => {
    // One store per name, so that what one run writes the next one sees.
    const key = `${loc.store}/${loc.path}`;
    if (!stores.has(key)) stores.set(key, new MemoryBackend({ name: loc.text }));
    return stores.get(key)!;
  },
};

/** The test's kind registered for the length of `body`, removed after it. */
async function withMem(body: () => Promise<void> | void): Promise<void> {
  const unregister = registerBackend(mem);
  try {
    await body();
  } finally {
    unregister();
  }
}

Deno.test("registerBackend(): a registered kind's locations parse through parseLocation()", async () => {
  await withMem(() => {
    assert.deepEqual(parseLocation("mem:shelf/a/b"), {
      kind: "mem",
      store: "shelf",
      path: "a/b",
      text: "mem:shelf/a/b",
    });
    // Schemes are case-insensitive for every kind.
    assert.equal((parseLocation("MEM:shelf") as unknown as MemLocation).store, "shelf");
    assert.throws(() => parseLocation("mem:"), /^UsageError: Location "mem:" names no store/);
    // The list of kinds in messages is the registry's.
    assert.throws(
      () => parseLocation("gopher://x"),
      /use a folder, zip:, ftp:\/\/, ftps:\/\/, s3:\/\/, wasabi:\/\/ or mem:$/,
    );
    assert.throws(
      () => parseLocation(""),
      /give a folder, zip:, ftp:\/\/, s3:\/\/ or mem: location/,
    );
  });
  // Removed again: the scheme is unknown, and the built-in kinds are as before.
  assert.throws(() => parseLocation("mem:shelf"), /Unknown location kind "mem:"/);
  assert.deepEqual(backendKinds().map((k) => k.name), ["local", "zip", "ftp", "s3"]);
});

Deno.test("registerBackend(): checkDistinct() asks the kind whether two locations are one place", async () => {
  await withMem(() => {
    assert.throws(
      () => checkDistinct(parseLocation("mem:shelf/a"), parseLocation("mem:shelf/a")),
      /"mem:shelf\/a" and "mem:shelf\/a" are the same place/,
    );
    assert.throws(
      () => checkDistinct(parseLocation("mem:shelf/a"), parseLocation("mem:shelf/a/b")),
      /are nested: one inside the other would sync into itself/,
    );
    assert.throws(
      () => checkDistinct(parseLocation("mem:shelf"), parseLocation("mem:shelf/b")),
      /are nested/,
    );
    checkDistinct(parseLocation("mem:shelf/a"), parseLocation("mem:shelf/ab"));
    checkDistinct(parseLocation("mem:shelf/a"), parseLocation("mem:other/a"));
    // Locations of different kinds are apart.
    checkDistinct(parseLocation("mem:shelf/a"), parseLocation("./shelf/a"));
  });
});

Deno.test("registerBackend(): openLocation() opens through the kind, and the CLI syncs with it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-registry-" });
  try {
    await withMem(async () => {
      const src = await openLocation(parseLocation("mem:shelf/src"));
      assert.ok(src instanceof MemoryBackend);
      assert.equal(src, await openLocation(parseLocation("mem:shelf/src")));
      const hello = new TextEncoder().encode("hello");
      await src.write("a.txt", ReadableStream.from([hello]), { mtime: 1000, size: hello.length });
      const state = join(dir, "state.db");
      const code = await main(["sync", "mem:shelf/src", "mem:shelf/dst", "--state", state, "-q"]);
      assert.equal(code, 0);
      const dst = await openLocation(parseLocation("mem:shelf/dst"));
      assert.equal(await new Response(await dst.read("a.txt")).text(), "hello");
      // The CLI refuses nested locations of the kind as it does any other: bad usage, exit 2.
      const nested = await main(["sync", "mem:shelf/src", "mem:shelf/src/in", "-q"]);
      assert.equal(nested, 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registerBackend() refuses a kind whose scheme another kind has", () => {
  assert.throws(
    () => registerBackend({ ...mem, name: "other", schemes: ["zip"], locations: ["other"] }),
    /^TypeError: Backend kind "other" takes "zip", which "zip" has/,
  );
  assert.equal(backendKinds().length, 4);
});
