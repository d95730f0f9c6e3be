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
 * Both walkers list the same entries with the same fields (`tests/backends/find_walk_test.ts`).
 *
 * `FERRY_WALKER=builtin` in the environment turns it off.
 *
 * @module
 */
import { FERRY_DIR } from "../../paths.ts";
import type { ExcludeFn } from "../../scan/filter.ts";
import { Collector, type RawTree, triage } from "./tree.ts";

/**
 * One record an entry: type letter, size, mtime (seconds with a fraction), inode, device,
 * permission bits in octal, then the path as found (`./` and the path relative to the root),
 * NUL-terminated (a name may hold any other byte, newlines too).
 */
const FORMAT = "%y %s %T@ %i %D %m %p\\0";

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
 * Walk one tree, or some of its top folders, with GNU `find`.
 *
 * @param root Absolute path of an existing folder.
 * @param skip The exclusion rules, if any.
 * @param below When given, only what these folders of the root hold (not the folders' own
 * entries); else everything below the root but ferry's own folder.
 * @returns The entries, or undefined when `find` could not give a complete, clean listing (the
 * caller then walks the tree itself).
 */
export async function findTree(
  root: string,
  skip: ExcludeFn | undefined,
  below?: readonly string[],
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
        // cwd is the root, so that no character of its path can mean anything to find, and
        // every starting point begins with "./", so that none can be taken for an option.
        args: below
          ? below.map((name) => "./" + name).concat(["-mindepth", "1", "-fprintf", out, FORMAT])
          : [".", "-mindepth", "1", "(", "-path", `./${FERRY_DIR}`, "-prune", ")", "-o"]
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
 * It runs once a walk, mostly before V8 has optimised it: the number fields are read by plain
 * loops over character codes, which cost a third less than slicing and converting.
 *
 * @returns undefined at the first record that is not what {@linkcode FORMAT} prints.
 */
export function parse(text: string, skip: ExcludeFn | undefined): RawTree | undefined {
  const out = new Collector();
  /** Everything below this folder is left out (an excluded folder, a temp name). */
  let pruned: string | undefined;
  const len = text.length;
  let i = 0;
  while (i < len) {
    const type = text.charCodeAt(i);
    if (text.charCodeAt(i + 1) !== 32) return undefined;
    i += 2;
    // Five numbers, each ended by one character; NaN (past the end) fails the range tests.
    let c = text.charCodeAt(i++);
    if (!(c >= 48 && c <= 57)) return undefined;
    let size = c - 48;
    while ((c = text.charCodeAt(i++)) >= 48 && c <= 57) size = size * 10 + (c - 48);
    if (c !== 32) return undefined;
    c = text.charCodeAt(i++);
    if (!(c >= 48 && c <= 57)) return undefined; // a time before 1970 starts with "-"
    let sec = c - 48;
    while ((c = text.charCodeAt(i++)) >= 48 && c <= 57) sec = sec * 10 + (c - 48);
    if (c !== 46) return undefined;
    // Ten digits of fraction; milliseconds are the first three, truncated as Deno does, and
    // the next six the nanoseconds within the millisecond (S3 metadata keeps them for rclone).
    let ms = 0;
    let ns = 0;
    let digits = 0;
    while ((c = text.charCodeAt(i++)) >= 48 && c <= 57) {
      if (digits < 3) ms = ms * 10 + (c - 48);
      else if (digits < 9) ns = ns * 10 + (c - 48);
      digits++;
    }
    if (digits < 9) ns *= 10 ** (9 - Math.max(digits, 3));
    if (c !== 32 || digits < 3) return undefined;
    const inoAt = i;
    c = text.charCodeAt(i++);
    if (!(c >= 48 && c <= 57)) return undefined;
    let ino = c - 48;
    while ((c = text.charCodeAt(i++)) >= 48 && c <= 57) ino = ino * 10 + (c - 48);
    if (c !== 32) return undefined;
    // Past 2^53 the running sum may round differently than Deno's conversion: parse it whole.
    if (ino > Number.MAX_SAFE_INTEGER) ino = Number(text.slice(inoAt, i - 1));
    c = text.charCodeAt(i++);
    if (!(c >= 48 && c <= 57)) return undefined;
    let dev = c - 48;
    while ((c = text.charCodeAt(i++)) >= 48 && c <= 57) dev = dev * 10 + (c - 48);
    if (c !== 32) return undefined;
    c = text.charCodeAt(i++);
    if (!(c >= 48 && c <= 55)) return undefined;
    let perm = c - 48;
    while ((c = text.charCodeAt(i++)) >= 48 && c <= 55) perm = perm * 8 + (c - 48);
    if (c !== 32) return undefined;
    const end = text.indexOf("\0", i);
    if (end <= i + 2 || text.charCodeAt(i) !== 46 || text.charCodeAt(i + 1) !== 47) {
      return undefined; // no "./" and a name after it
    }
    const rel = text.slice(i + 2, end);
    i = end + 1;
    if (pruned !== undefined) {
      if (rel.startsWith(pruned)) continue;
      pruned = undefined;
    }
    const mtime = sec * 1000 + ms;
    const found = type === 102 ? "file" : type === 100 ? "dir" : type === 108 ? "link" : "other";
    const verdict = triage(rel, found, skip, out);
    if (verdict === "temp") out.temps.push({ key: rel, mtime });
    if (verdict !== "keep") {
      pruned = rel + "/"; // find walks into what the built-in walker does not
      continue;
    }
    const isDir = found === "dir";
    out.add(rel, isDir, size, mtime, ino, dev, (isDir ? S_IFDIR : S_IFREG) | perm, ns);
  }
  return out.done();
}
