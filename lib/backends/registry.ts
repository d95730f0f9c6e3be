/**
 * Every kind of backend ferry knows, one line each. Parsing a location, opening it, the
 * command line's options and their help, the distinct-places check and the build all read
 * this list, so a new backend is its folder (with its `kind.ts`), its tests and one line here.
 * Anchor: rclone's `fs.Register` and `backend/all`.
 *
 * @module
 */
import type { BackendFlag, BackendKind, LocationBase } from "./kind.ts";
import { local } from "./local/kind.ts";
import { zip } from "./zip/kind.ts";
import { ftp } from "./ftp/kind.ts";
import { s3 } from "./s3/kind.ts";

/**
 * The kinds, in the order messages list them; the first with `parsePlain` takes plain paths.
 * Made on first use, not when this module loads: the kinds' modules import helpers (such as
 * lib/location.ts) that import this one, so a kind may load before the others exist.
 */
let registered: BackendKind[] | undefined;
function all(): BackendKind[] {
  return registered ??= [
    local,
    zip,
    ftp,
    s3,
  ];
}

/**
 * Add a kind of backend (a library's own, or a test's).
 *
 * @param kind The kind.
 * @returns A function that removes it again.
 * @throws {TypeError} When one of its schemes or location kinds is taken.
 * @example A kind for `mem:` locations, registered and removed again
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryBackend } from "./memory.ts";
 * import { parseLocation } from "../location.ts";
 * const unregister = registerBackend({
 *   name: "mem",
 *   schemes: ["mem"],
 *   locations: ["mem"],
 *   spellings: ["mem:"],
 *   parse: (_scheme, rest, text) => ({ kind: "mem", store: rest, text }),
 *   open: (loc) => new MemoryBackend({ name: loc.text }),
 * });
 * assert.equal(parseLocation("mem:shelf").kind, "mem");
 * unregister();
 * assert.throws(() => parseLocation("mem:shelf"), /Unknown location kind/);
 * ```
 */
export function registerBackend<L extends LocationBase>(kind: BackendKind<L>): () => void {
  for (const k of all()) {
    const taken = kind.schemes.find((s) => k.schemes.includes(s)) ??
      kind.locations.find((l) => k.locations.includes(l));
    if (taken !== undefined) {
      throw new TypeError(`Backend kind "${kind.name}" takes "${taken}", which "${k.name}" has`);
    }
  }
  const added = kind as unknown as BackendKind;
  all().push(added);
  return () => {
    const at = all().indexOf(added);
    if (at >= 0) all().splice(at, 1);
  };
}

/**
 * The kinds of backend, in order.
 *
 * @returns Every registered kind.
 */
export function backendKinds(): readonly BackendKind[] {
  return all();
}

/**
 * The kind that parses a scheme.
 *
 * @param scheme A scheme, lower case, without `:`.
 * @returns Its kind, if any.
 */
export function kindOfScheme(scheme: string): BackendKind | undefined {
  return all().find((k) => k.schemes.includes(scheme));
}

/**
 * The kind of a parsed location.
 *
 * @param loc A location.
 * @returns The kind that parsed it.
 * @throws {TypeError} When no registered kind has locations of its `kind`.
 */
export function kindOf(loc: LocationBase): BackendKind {
  const kind = all().find((k) => k.locations.includes(loc.kind));
  if (!kind) throw new TypeError(`No backend kind for locations of kind "${loc.kind}"`);
  return kind;
}

/**
 * The kind of plain paths (no scheme).
 *
 * @returns The first kind with `parsePlain`.
 * @throws {TypeError} When there is none.
 */
export function plainKind(): BackendKind & Required<Pick<BackendKind, "parsePlain">> {
  const kind = all().find((k) => k.parsePlain);
  if (!kind?.parsePlain) throw new TypeError("No backend kind takes plain paths");
  return kind as BackendKind & Required<Pick<BackendKind, "parsePlain">>;
}

/**
 * The command-line options of every kind, in the order of their help blocks.
 *
 * @returns Each kind with options, and them.
 */
export function backendFlags(): BackendFlag[] {
  return kindsWithHelp().flatMap((k) => k.flags ?? []);
}

/**
 * The kinds with a help block, in the order help prints them (by `rank`, then as listed).
 *
 * @returns Those kinds.
 */
export function kindsWithHelp(): BackendKind[] {
  const rank = (k: BackendKind) => k.help?.rank ?? Number.MAX_SAFE_INTEGER;
  return all().filter((k) => k.help || k.flags?.length).sort((a, b) => rank(a) - rank(b));
}

/**
 * The modules the kinds load lazily and run as Workers: the build includes them by name.
 *
 * @returns Paths from the repository root.
 */
export function backendModules(): { lazy: string[]; workers: string[] } {
  return {
    lazy: all().flatMap((k) => k.lazy ?? []),
    workers: all().flatMap((k) => k.workers ?? []),
  };
}
