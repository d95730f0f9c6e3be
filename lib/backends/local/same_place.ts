/**
 * Whether two folders are one place or one inside the other. Spelling is not enough: folders
 * are compared by their real paths (links resolved) and by device and inode (bind mounts).
 *
 * @module
 */
import * as nodePath from "node:path";
import type { Sameness } from "../kind.ts";

const path = Deno.build.os === "windows" ? nodePath.win32 : nodePath.posix;

/**
 * The real path of a folder that may not exist yet: its nearest existing ancestor resolved
 * (symbolic links followed), with the missing part appended.
 *
 * @param p A path.
 * @returns An absolute path without links in its existing part.
 */
export function realPathOf(p: string): string {
  let head = path.resolve(p);
  const tail: string[] = [];
  for (let i = 0; i < 4096; i++) {
    try {
      return path.join(Deno.realPathSync(head), ...tail.reverse());
    } catch {
      const parent = path.dirname(head);
      if (parent === head) break;
      tail.push(path.basename(head));
      head = parent;
    }
  }
  return path.resolve(p);
}

function within(x: string, y: string): boolean {
  const fold = Deno.build.os === "windows" || Deno.build.os === "darwin";
  const a = fold ? x.toLowerCase() : x;
  const b = fold ? y.toLowerCase() : y;
  return a === b || a.startsWith(b.endsWith(path.sep) ? b : b + path.sep);
}

function identity(p: string): string | undefined {
  try {
    const st = Deno.statSync(p);
    return st.ino !== null && st.dev !== null && st.ino !== 0 ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the folder `inner` is `outer` or below it, by device and inode of each ancestor. */
function insideByIdentity(inner: string, outer: string): boolean {
  const id = identity(outer);
  if (!id) return false;
  let p = inner;
  for (let i = 0; i < 4096; i++) {
    if (identity(p) === id) return true;
    const parent = path.dirname(p);
    if (parent === p) return false;
    p = parent;
  }
  return false;
}

/**
 * How two folders stand: the same place, nested, or apart.
 *
 * @param a One folder's path.
 * @param b Another's.
 * @returns `same`, `nested` or `apart`.
 */
export function compareFolders(a: string, b: string): Sameness {
  const ra = realPathOf(a);
  const rb = realPathOf(b);
  if (ra === rb || (identity(ra) !== undefined && identity(ra) === identity(rb))) return "same";
  return within(ra, rb) || within(rb, ra) || insideByIdentity(ra, rb) || insideByIdentity(rb, ra)
    ? "nested"
    : "apart";
}

/**
 * How two keys or paths below one root stand, `/` separated (`a/b` is inside `a`, `""` holds all).
 *
 * @param a One path, without leading or trailing `/`.
 * @param b Another.
 * @returns `same`, `nested` or `apart`.
 */
export function comparePaths(a: string, b: string): Sameness {
  if (a === b) return "same";
  return a === "" || b === "" || a.startsWith(b + "/") || b.startsWith(a + "/")
    ? "nested"
    : "apart";
}
