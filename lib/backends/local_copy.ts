/**
 * Atomic local file copies with synchronous calls, shared by the local backend and the copy
 * Workers (synchronous calls cost far less per file than async ones on these machines).
 *
 * @module
 */
import * as nodePath from "node:path";
import { tempName } from "../paths.ts";

const path = Deno.build.os === "windows" ? nodePath.win32 : nodePath.posix;

/** What was found at the target instead of what the plan expected. */
export class TargetChanged extends Error {
  override name = "TargetChanged";
}

/**
 * Copy `src` to `dst` through a temporary name beside `dst`, keeping `mtime`; the copy
 * appears at `dst` only when complete. Missing parent folders are created.
 *
 * @param src Source file path.
 * @param dst Destination file path.
 * @param mtime Modification time to set, ms since the epoch.
 * @param expect When set, `dst` must still have this size and mtime (an update).
 * @throws {TargetChanged} When `dst` is not what `expect` says.
 */
export function copyFileAtomicSync(
  src: string,
  dst: string,
  mtime: number,
  expect?: { size: number; mtime: number },
  known?: KnownSource,
): void {
  if (expect) {
    let st: Deno.FileInfo | undefined;
    try {
      st = Deno.lstatSync(dst);
    } catch { /* gone: not what the plan saw */ }
    if (!st || !st.isFile || st.size !== expect.size || st.mtime?.getTime() !== expect.mtime) {
      throw new TargetChanged("changed in the destination since the scan; left as it is");
    }
  }
  const cut = Math.max(dst.lastIndexOf("/"), dst.lastIndexOf(path.sep));
  const dir = cut > 0 ? dst.slice(0, cut) : path.dirname(dst);
  const tmp = dir + path.sep + tempName();
  const when = new Date(mtime);
  try {
    const input = Deno.openSync(src, { read: true });
    try {
      // What the walk saw saves asking again; a size that changed since is caught below.
      const info = known && known.size <= SMALL ? known : statOf(input);
      if (info.size <= SMALL) copySmall(input, info, tmp, dir, when, known !== undefined);
      else {
        try {
          Deno.copyFileSync(src, tmp);
        } catch (err) {
          if (!(err instanceof Deno.errors.NotFound)) throw err;
          // The parent folder is missing (new, or deleted mid-run): create it, try again.
          Deno.mkdirSync(dir, { recursive: true });
          Deno.copyFileSync(src, tmp);
        }
        Deno.utimeSync(tmp, when, when);
      }
    } finally {
      input.close();
    }
    Deno.renameSync(tmp, dst);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never created */ }
    throw err;
  }
}

/** Files up to this size are copied by one read and one write: fewer calls than copyFile. */
const SMALL = 1 << 20;

let buffer = new Uint8Array(64 << 10);

/** A reusable buffer of at least `n` bytes: one allocation per thread, not one per file. */
function scratch(n: number): Uint8Array {
  if (buffer.length < n) buffer = new Uint8Array(Math.max(n, buffer.length * 2));
  return buffer;
}

/** Size and permission bits of a source file, as the walk saw them. */
export interface KnownSource {
  size: number;
  mode?: number;
}

function statOf(f: Deno.FsFile): KnownSource {
  const st = f.statSync();
  return st.mode === null ? { size: st.size } : { size: st.size, mode: st.mode };
}

function copySmall(
  input: Deno.FsFile,
  info: KnownSource,
  tmp: string,
  dir: string,
  when: Date,
  checkSize: boolean,
) {
  // One byte more than expected: a file that grew since the walk shows it without a stat.
  const want = info.size + (checkSize ? 1 : 0);
  const data = scratch(want);
  let got = 0;
  while (got < want) {
    const n = input.readSync(data.subarray(got, want));
    if (n === null || n === 0) break;
    got += n;
    // A regular file reads short only at its end: the expected size, read short, is all of
    // it, and asking again for the end would cost one more call per file.
    if (got === info.size && n < want - (got - n)) break;
  }
  if (checkSize && got !== info.size) {
    throw new Error(
      `changed while it was copied (${got === want ? "grew" : "shrank"}); the next run copies it`,
    );
  }
  const mode = info.mode === undefined ? undefined : info.mode & 0o7777;
  const opts: Deno.OpenOptions = { write: true, createNew: true, ...(mode ? { mode } : {}) };
  let out: Deno.FsFile;
  try {
    out = Deno.openSync(tmp, opts);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    // The parent folder is missing (new, or deleted mid-run): create it and try again.
    Deno.mkdirSync(dir, { recursive: true });
    out = Deno.openSync(tmp, opts);
  }
  try {
    let put = 0;
    while (put < got) put += out.writeSync(data.subarray(put, got));
    // The umask may have narrowed the mode given to open: restore group/other write bits.
    if (mode !== undefined && mode & 0o022) Deno.chmodSync(tmp, mode);
    out.utimeSync(when, when);
  } finally {
    out.close();
  }
}
