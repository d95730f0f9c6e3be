/**
 * Keys: inside ferry every path is a POSIX relative key, `""` being the root. Only the local
 * backend turns keys into OS paths.
 *
 * @module
 */
import { UnsafePathError } from "./errors.ts";

/**
 * Name of the folder ferry keeps at a local root for state and logs. A `.ferry` at any depth is
 * ferry's own (another job's state, lock and logs kept in a folder this job syncs): never synced.
 */
export const FERRY_DIR = ".ferry";

/** Name of the ignore file honoured at a location's root. */
export const IGNORE_FILE = ".ferryignore";

/** Prefix of the temporary names atomic writes use; such names are never listed. */
export const TEMP_PREFIX = ".ferry-tmp-";

/**
 * Check that a key is a safe relative POSIX path and return it in NFC form.
 *
 * @param key A relative path such as `a/b.txt`.
 * @returns The same key, NFC-normalised.
 * @throws {UnsafePathError} When the key is absolute, has a drive letter, `..`, `.`, empty
 * segments, a backslash or a NUL.
 * @example Accepts ordinary keys
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(checkKey("a/b.txt"), "a/b.txt");
 * ```
 */
export function checkKey(key: string): string {
  if (key === "") return key;
  // One pass over the string: absolute, drive letter, backslash, NUL, and "", ".", ".."
  // segments. It runs for every key the executor touches, so it must be cheap.
  if (UNSAFE.test(key)) {
    const why = /(^|\/)\.{1,2}(\/|$)|\/\/|\/$/.test(key)
      ? `"." , ".." and empty names are refused`
      : "must be relative to the location's root";
    throw new UnsafePathError(`Unsafe path "${key}": ${why}`);
  }
  return ASCII.test(key) ? key : key.normalize("NFC");
}

const UNSAFE = /^\/|^[A-Za-z]:|[\\\0]|(^|\/)\.{1,2}(\/|$)|\/\/|\/$/;
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** Device names Windows reserves in every folder, with or without an extension. */
const WINDOWS_RESERVED = /^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?$/i;
// deno-lint-ignore no-control-regex
const WINDOWS_BAD_CHARS = /[<>:"|?*\x00-\x1f]/;

/**
 * Why a key cannot be a file's name on Windows, if it cannot: a reserved device name (`CON`,
 * `aux.txt`, `COM1`…), a name ending in a dot or a space, or a character Windows refuses. Such
 * a file is refused one by one (reported and counted as failed), never silently dropped or
 * written to another name.
 *
 * @param key A checked key.
 * @returns One line saying why, or undefined when every segment is a valid Windows name.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(windowsNameProblem("docs/report.txt"), undefined);
 * assert.match(windowsNameProblem("docs/aux.txt")!, /reserves/);
 * ```
 */
export function windowsNameProblem(key: string): string | undefined {
  for (const seg of key.split("/")) {
    if (WINDOWS_RESERVED.test(seg)) {
      return `"${seg}" is a device name Windows reserves: rename it to copy it to Windows`;
    }
    if (/[. ]$/.test(seg)) {
      return `"${seg}" ends in a dot or a space, which Windows drops: rename it to copy it to Windows`;
    }
    const bad = WINDOWS_BAD_CHARS.exec(seg);
    if (bad) {
      return `"${seg}" holds ${
        JSON.stringify(bad[0])
      }, which Windows refuses in names: rename it to copy it to Windows`;
    }
  }
  return undefined;
}

/**
 * Join a parent key and a name.
 *
 * @param parent A key, `""` for the root.
 * @param name One path segment.
 * @returns The child's key.
 */
export function joinKey(parent: string, name: string): string {
  return parent === "" ? name : `${parent}/${name}`;
}

/**
 * The parent key of a key (`""` for a top-level name).
 *
 * @param key A non-empty key.
 * @returns Its parent's key.
 */
export function parentKey(key: string): string {
  const i = key.lastIndexOf("/");
  return i < 0 ? "" : key.slice(0, i);
}

/**
 * Whether `key` is `dir` or lies below it.
 *
 * @param key Any key.
 * @param dir A folder key; `""` contains everything.
 * @returns True when `key` is inside `dir` (or is it).
 */
export function isWithin(key: string, dir: string): boolean {
  return dir === "" || key === dir || key.startsWith(dir + "/");
}

/**
 * The key used to match entries across locations: case-folded when either side is
 * case-insensitive. Keys are NFC already: every backend returns NFC keys (`checkKey`).
 *
 * @param key An NFC key.
 * @param foldCase Whether to fold case.
 * @returns The matching key.
 */
export function matchKey(key: string, foldCase: boolean): string {
  return foldCase ? key.toLowerCase() : key;
}

/**
 * Whether a key is, or lies below, a `.ferry` folder at any depth: ferry's own, never listed,
 * copied or deleted, in any kind of location.
 *
 * @param key A key.
 * @returns True for `.ferry`, `a/.ferry` and everything below them.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(isOwnKey("docs/.ferry/state.db"), true);
 * assert.equal(isOwnKey("docs/.ferry"), true);
 * assert.equal(isOwnKey("docs/x.ferry"), false);
 * ```
 */
export function isOwnKey(key: string): boolean {
  if (!key.includes(FERRY_DIR)) return false; // the common case, one scan
  return key === FERRY_DIR || key.startsWith(FERRY_DIR + "/") || key.endsWith("/" + FERRY_DIR) ||
    key.includes("/" + FERRY_DIR + "/");
}

/**
 * Whether a base name is one of ferry's temporary names.
 *
 * @param name A base name.
 * @returns True for names that atomic writes use.
 */
export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/**
 * A fresh temporary base name for an atomic write: short, so that it fits even where the
 * final name is at the file system's length limit.
 *
 * @returns A name beginning with {@linkcode TEMP_PREFIX}.
 */
export function tempName(): string {
  // Random bytes are drawn 6 KiB at a time: one call per 1,024 names, not one per name (a copy
  // of a small file costs ~30 µs, and a name made byte by byte cost 1.5 µs of it).
  if (randomAt + 6 > randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomAt = 0;
  }
  let name = TEMP_PREFIX + PID_TAG;
  for (let i = 0; i < 6; i++) name += HEX[randomPool[randomAt++]!];
  return name;
}

/** The writing process's id in base 36, then a dash: a later run can tell a dead writer's temps. */
const PID_TAG = `${Deno.pid.toString(36)}-`;

/**
 * The id of the process that made a temporary name, where the name carries one.
 *
 * @param name A base name from {@linkcode tempName}.
 * @returns The process id, or undefined for names without one (older ferry versions).
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(tempOwner(tempName()), Deno.pid);
 * ```
 */
export function tempOwner(name: string): number | undefined {
  const m = /^\.ferry-tmp-([0-9a-z]+)-[0-9a-f]{12}$/.exec(name);
  return m ? parseInt(m[1]!, 36) : undefined;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const randomPool = new Uint8Array(6 << 10);
let randomAt = randomPool.length;

/**
 * The smallest set of subtrees that covers `under`: duplicates and keys inside another are
 * dropped, and a scope that contains the root (`""`) is the whole tree (undefined).
 *
 * @param under Keys of folders or files.
 * @returns Sorted disjoint keys, or undefined for the whole tree.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(normaliseScope(["a/b", "a", "c/d"]), ["a", "c/d"]);
 * assert.equal(normaliseScope(["a", ""]), undefined);
 * ```
 */
export function normaliseScope(under: readonly string[] | undefined): string[] | undefined {
  if (!under || under.includes("")) return undefined;
  const sorted = [...new Set(under)].sort();
  const out: string[] = [];
  for (const k of sorted) if (!out.some((o) => isWithin(k, o))) out.push(k);
  return out;
}

/**
 * Whether a key belongs to a scoped listing: at or below one of the subtrees, or a folder
 * that leads to one.
 *
 * @param key The key.
 * @param scope Disjoint subtrees (see {@linkcode normaliseScope}); undefined is everything.
 * @returns True when the key is in scope.
 */
export function inScope(key: string, scope: readonly string[] | undefined): boolean {
  return !scope || scope.some((s) => isWithin(key, s));
}

/**
 * The folders above the subtrees of a scope (`a` and `a/b` for `a/b/c`), for listings that
 * show how a scoped subtree is reached.
 *
 * @param scope Disjoint subtrees.
 * @returns Folder keys, shallowest first, each once.
 */
export function scopeParents(scope: readonly string[]): string[] {
  const out = new Set<string>();
  for (const s of scope) {
    const parts = s.split("/");
    for (let i = 1; i < parts.length; i++) out.add(parts.slice(0, i).join("/"));
  }
  return [...out].sort((a, b) => a.split("/").length - b.split("/").length || (a < b ? -1 : 1));
}

/**
 * Whether no process has this id here (Linux only: elsewhere nothing is assumed).
 *
 * @param pid A process id.
 * @returns True when it is known to run no more.
 */
export function processGone(pid: number): boolean {
  if (Deno.build.os !== "linux" || pid === Deno.pid) return false;
  try {
    Deno.statSync(`/proc/${pid}`);
    return false;
  } catch (err) {
    return err instanceof Deno.errors.NotFound;
  }
}
