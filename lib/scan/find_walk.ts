/**
 * The fast path of the local tree walker on Linux: GNU `find` lists a tree and prints every
 * entry's `lstat` fields, in C, at about a third of what the same walk costs through Deno's
 * calls (50,000 files: ~0.12 s against ~0.35 s here). Two trees are two `find` processes, which
 * run in parallel on two cores.
 *
 * It is an accelerator only: whenever `find` is missing, is not GNU `find`, is not allowed to
 * run, reports any error (an unreadable folder, a file that vanished mid-walk) or prints
 * anything this parser does not expect (a name that is not UTF-8, a time before 1970), the
 * caller walks that tree with the built-in walker instead, which reports problems per file.
 * Both walkers list the same entries with the same fields (`tests/scan/walk_test.ts`).
 *
 * `FERRY_WALKER=builtin` in the environment turns it off.
 *
 * @module
 */
import { FERRY_DIR, isTempName } from "../paths.ts";
import type { ExcludeFn } from "./filter.ts";
import type { RawTree } from "./walk.ts";

/**
 * One record an entry: type letter, size, mtime (seconds with a fraction), inode, device,
 * permission bits in octal, then the path relative to the root, NUL-terminated (a name may hold
 * any other byte, newlines too).
 */
const FORMAT = "%y %s %T@ %i %D %m %P\\0";

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

let disabled = false;

/**
 * Whether this process may use `find` at all: Linux, not turned off, and allowed to run it
 * without a prompt. Cheap; says nothing of whether `find` is installed.
 */
export function findUsable(): boolean {
  if (disabled || Deno.build.os !== "linux") return false;
  try {
    if (Deno.env.get("FERRY_WALKER") === "builtin") return false;
    return Deno.permissions.querySync({ name: "run", command: "find" }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * Walk one tree with GNU `find`.
 *
 * @param root Absolute path of an existing folder.
 * @param skip The exclusion rules, if any.
 * @returns The tree, or undefined when `find` could not give a complete, clean listing (the
 * caller then walks the tree itself).
 */
export async function findTree(
  root: string,
  skip: ExcludeFn | undefined,
): Promise<RawTree | undefined> {
  if (!findUsable()) return undefined;
  let out: string;
  try {
    out = await Deno.makeTempFile({ prefix: "ferry-walk-" });
  } catch {
    return undefined;
  }
  try {
    let status: Deno.CommandStatus;
    try {
      status = await new Deno.Command("find", {
        // cwd is the root, so that no character of its path can mean anything to find.
        args: [".", "-mindepth", "1", "(", "-path", `./${FERRY_DIR}`, "-prune", ")", "-o"]
          .concat(["-fprintf", out, FORMAT]),
        cwd: root,
        env: { LC_ALL: "C" },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
    } catch (err) {
      // Not allowed: no use asking again in this process. (NotFound may be the root that
      // vanished as much as a missing find: that one is simply tried again next time.)
      if (err instanceof Deno.errors.NotCapable) disabled = true;
      return undefined;
    }
    if (!status.success) return undefined;
    const bytes = await Deno.readFile(out);
    // fatal: a name that is not UTF-8 fails the decoding, and the built-in walker takes over.
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return parse(text, skip);
  } catch {
    return undefined;
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

/**
 * Read `find`'s records into a tree, leaving out what the built-in walker leaves out.
 *
 * @returns undefined at the first record that is not what {@linkcode FORMAT} prints.
 */
export function parse(text: string, skip: ExcludeFn | undefined): RawTree | undefined {
  const paths: string[] = [];
  const dirs: number[] = [];
  const sizes: number[] = [];
  const mtimes: number[] = [];
  const inos: number[] = [];
  const devs: number[] = [];
  const modes: number[] = [];
  const skipped: RawTree["skipped"] = [];
  const temps: RawTree["temps"] = [];
  /** Everything below this folder is left out (an excluded folder, a temp name). */
  let pruned: string | undefined;
  const len = text.length;
  let at = 0;
  // Each loop reads one decimal (or octal) number ending in `end` at `i`, or fails.
  let i = 0;
  const num = (end: number, base = 10): number => {
    const from = i;
    let v = 0;
    for (;;) {
      const c = text.charCodeAt(i++);
      if (c === end && i - 1 > from) break;
      if (!(c >= 48 && c <= 47 + base)) return NaN; // NaN too: the text ended
      v = v * base + (c - 48);
    }
    // Past 2^53 the running sum may round differently than Deno's conversion: parse whole.
    return v > Number.MAX_SAFE_INTEGER ? Number(text.slice(from, i - 1)) : v;
  };
  while (at < len) {
    const type = text[at];
    if (text.charCodeAt(at + 1) !== 32) return undefined;
    i = at + 2;
    const size = num(32);
    const sec = num(46);
    // Ten digits of fraction; milliseconds are the first three, truncated as Deno does.
    let ms = 0;
    for (let k = 0; k < 3; k++) {
      const c = text.charCodeAt(i + k);
      if (!(c >= 48 && c <= 57)) return undefined;
      ms = ms * 10 + (c - 48);
    }
    while (i < len && text.charCodeAt(i) !== 32) i++;
    i++;
    const ino = num(32);
    const dev = num(32);
    const perm = num(32, 8);
    const end = text.indexOf("\0", i);
    if (
      end <= i || Number.isNaN(size) || Number.isNaN(sec) || Number.isNaN(ino) ||
      Number.isNaN(dev) || Number.isNaN(perm)
    ) {
      return undefined;
    }
    const rel = text.slice(i, end);
    at = end + 1;
    if (pruned !== undefined) {
      if (rel.startsWith(pruned)) continue;
      pruned = undefined;
    }
    const slash = rel.lastIndexOf("/");
    const name = slash < 0 ? rel : rel.slice(slash + 1);
    const mtime = sec * 1000 + ms;
    if (isTempName(name)) {
      temps.push({ key: rel, mtime });
      pruned = rel + "/";
      continue;
    }
    if (type === "l") {
      skipped.push({ key: rel, reason: "symbolic link (not followed)" });
      continue;
    }
    const isDir = type === "d";
    if (!isDir && type !== "f") {
      skipped.push({ key: rel, reason: "not a regular file or folder" });
      continue;
    }
    if (skip?.(rel.normalize("NFC"), isDir)) {
      pruned = rel + "/";
      continue;
    }
    paths.push(rel);
    dirs.push(isDir ? 1 : 0);
    sizes.push(isDir ? 0 : size);
    mtimes.push(mtime);
    inos.push(ino);
    devs.push(dev);
    modes.push((isDir ? S_IFDIR : S_IFREG) | perm);
  }
  return {
    paths,
    dirs: Uint8Array.from(dirs),
    sizes: Float64Array.from(sizes),
    mtimes: Float64Array.from(mtimes),
    inos: Float64Array.from(inos),
    devs: Float64Array.from(devs),
    modes: Uint32Array.from(modes),
    problems: [],
    skipped,
    temps,
  };
}
