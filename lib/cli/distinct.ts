/**
 * Two locations of one job must be distinct places, neither inside the other: a sync into
 * itself nests one level deeper every run, and with `--delete` it can destroy its own source.
 * Spelling is not enough: folders are compared by their real paths (links resolved) and by
 * device and inode (bind mounts), buckets by endpoint, name and prefix, FTP folders by host,
 * port and path.
 *
 * @module
 */
import * as nodePath from "node:path";
import { UsageError } from "../errors.ts";
import type { Location } from "../location.ts";

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

function bucketOf(l: Location, endpoint: string | undefined): string | undefined {
  if (l.kind !== "s3" && l.kind !== "wasabi") return undefined;
  return `${l.kind === "wasabi" ? "wasabi" : endpoint ?? "aws"}\n${l.bucket}`;
}

/**
 * Refuse two locations that are the same place or nested.
 *
 * @param a The first location.
 * @param b The second location.
 * @param endpoint The S3 endpoint both S3 locations use, if any.
 * @throws {UsageError} When they are the same or one is inside the other.
 */
export function checkDistinct(a: Location, b: Location, endpoint?: string): void {
  let same = false;
  let nested = false;
  if (a.kind === "local" && b.kind === "local") {
    const ra = realPathOf(a.path);
    const rb = realPathOf(b.path);
    same = ra === rb || (identity(ra) !== undefined && identity(ra) === identity(rb));
    nested = !same && (within(ra, rb) || within(rb, ra) || insideByIdentity(ra, rb) ||
      insideByIdentity(rb, ra));
  } else if (a.kind === "zip" && b.kind === "zip") {
    same = realPathOf(a.path) === realPathOf(b.path);
  } else if ((a.kind === "ftp" || a.kind === "ftps") && (b.kind === "ftp" || b.kind === "ftps")) {
    // One server (by host and port, whoever logs in): its paths compared as folders are.
    if (a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port) {
      const norm = (p: string) => "/" + p.replace(/^\/+|\/+$/g, "");
      const pa = norm(a.path);
      const pb = norm(b.path);
      same = pa === pb;
      nested = !same && (pa === "/" || pb === "/" || pa.startsWith(pb + "/") ||
        pb.startsWith(pa + "/"));
    }
  } else {
    const ba = bucketOf(a, endpoint);
    if (ba !== undefined && ba === bucketOf(b, endpoint)) {
      const pa = (a as { prefix: string }).prefix;
      const pb = (b as { prefix: string }).prefix;
      same = pa === pb;
      nested = !same && (pa === "" || pb === "" || pa.startsWith(pb + "/") ||
        pb.startsWith(pa + "/"));
    }
  }
  if (same) throw new UsageError(`"${a.text}" and "${b.text}" are the same place`);
  if (nested) {
    throw new UsageError(
      `"${a.text}" and "${b.text}" are nested: one inside the other would sync into itself`,
    );
  }
}
