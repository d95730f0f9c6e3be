/**
 * `ferry check`: read both sides and report every file whose content differs, is missing or
 * is extra, changing nothing (as `rclone check` does). Local content is hashed anew (a cache
 * cannot prove a file unchanged); a store's own checksum is used where it keeps one (the
 * SHA-256 ferry writes into S3 metadata), otherwise its content is read and hashed.
 *
 * @module
 */
import { type Backend, type Entry, fastPath } from "./backends/backend.ts";
import { describeError, RunError, SafetyError } from "./errors.ts";
import { runPool } from "./util/pool.ts";
import { matchKey } from "./paths.ts";
import { sha256Stream } from "./state/hash.ts";

/** One difference between the two sides. */
export interface Difference {
  /** The file's key (POSIX, relative to both roots). */
  path: string;
  /**
   * `differ`: on both sides, other size or content; `missing`: only in the first location;
   * `extra`: only in the second; `failed`: could not be listed or read.
   */
  kind: "differ" | "missing" | "extra" | "failed";
  /** One line for a reader: the sizes, which side lacks it, or the error. */
  detail: string;
}

/** What {@linkcode checkLocations} found. */
export interface CheckResult {
  /** Files present on both sides and compared. */
  compared: number;
  /** Every difference found, failures included; empty when the locations agree. */
  differences: Difference[];
}

/** Options of {@linkcode checkLocations}. */
export interface CheckOptions {
  /** gitignore-style patterns of files and folders left out on both sides. */
  exclude?: readonly string[];
  /** Hashes computed at once (default 4). */
  concurrency?: number;
  /** Stops hashing further files; the result then holds the differences found so far. */
  signal?: AbortSignal;
  /** Told of each difference as it is found. */
  onDifference?: (d: Difference) => void;
}

/**
 * Compare two locations file by file, by size and then SHA-256.
 *
 * @param from The location that holds the originals.
 * @param to The copy to check.
 * @param options Exclusions, concurrency, a callback per difference.
 * @returns What was compared and every difference.
 * @throws {SafetyError} When `from` does not exist.
 * @throws {RunError} When a location cannot be listed.
 * @example Two equal in-memory locations
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryBackend } from "./backends/memory.ts";
 * const r = await checkLocations(new MemoryBackend({ name: "a" }), new MemoryBackend({ name: "b" }));
 * assert.equal(r.differences.length, 0);
 * ```
 */
export async function checkLocations(
  from: Backend,
  to: Backend,
  options: CheckOptions = {},
): Promise<CheckResult> {
  if (!(await from.rootExists())) {
    throw new SafetyError(`"${from.display}" does not exist: nothing to check against`);
  }
  const toExists = await to.rootExists();
  const exclude = options.exclude ?? [];
  const list = (b: Backend) =>
    b.list({ exclude }).catch((err) => {
      throw new RunError(`Cannot list "${b.display}": ${describeError(err)}`, { cause: err });
    });
  const [a, b] = await Promise.all([
    list(from),
    toExists ? list(to) : Promise.resolve({ entries: [], problems: [], skipped: [] }),
  ]);
  const fold = from.caps.caseInsensitive || to.caps.caseInsensitive;
  const differences: Difference[] = [];
  const say = (d: Difference) => {
    differences.push(d);
    options.onDifference?.(d);
  };
  for (const p of [...a.problems, ...b.problems]) {
    say({ path: p.key, kind: "failed", detail: p.message });
  }
  const files = (es: Entry[]) => es.filter((e) => e.kind === "file");
  const theirs = new Map(files(b.entries).map((e) => [matchKey(e.key, fold), e]));
  const pairs: [Entry, Entry][] = [];
  for (const e of files(a.entries)) {
    const k = matchKey(e.key, fold);
    const t = theirs.get(k);
    if (!t) say({ path: e.key, kind: "missing", detail: `not in "${to.display}"` });
    else {
      theirs.delete(k);
      if (t.size !== e.size) {
        say({ path: e.key, kind: "differ", detail: `size ${e.size} against ${t.size}` });
      } else pairs.push([e, t]);
    }
  }
  for (const t of theirs.values()) {
    say({ path: t.key, kind: "extra", detail: `only in "${to.display}"` });
  }
  await runPool(pairs, options.concurrency ?? 4, async ([e, t]) => {
    try {
      const [ha, hb] = await Promise.all([hashOf(from, e), hashOf(to, t)]);
      if (ha !== hb) say({ path: e.key, kind: "differ", detail: "content differs (SHA-256)" });
    } catch (err) {
      say({ path: e.key, kind: "failed", detail: describeError(err) });
    }
  }, options.signal);
  return { compared: pairs.length, differences };
}

/** The SHA-256 of an entry: the store's own where it keeps one, else its content hashed. */
async function hashOf(b: Backend, e: Entry): Promise<string> {
  if (!b.caps.local) {
    if (e.sha256) return e.sha256;
    const stored = await fastPath(b, "storedHash")?.(e.key);
    if (stored) return stored;
  }
  return await sha256Stream(await b.read(e.key));
}
