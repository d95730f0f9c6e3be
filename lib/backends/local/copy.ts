/**
 * Atomic local file copies with synchronous calls, shared by the local backend and the copy
 * Workers (synchronous calls cost far less per file than async ones on these machines).
 *
 * A copy never lands torn: the source is checked again once its bytes are in the temporary
 * file (size and modification time, and the change time for files copied in chunks); a source
 * that changed meanwhile is copied once more, and a second change fails the file ("changed
 * while it was copied") with nothing at the real name.
 *
 * @module
 */
import * as nodePath from "node:path";
import { tempName } from "../../paths.ts";
import { CopyStopped, SourceChanged, TargetChanged } from "../../errors.ts";

const path = Deno.build.os === "windows" ? nodePath.win32 : nodePath.posix;

export { CopyStopped, SourceChanged, TargetChanged };

/** Size and permission bits of a source file, as the walk saw them. */
export interface KnownSource {
  size: number;
  mode?: number;
}

/** What a copy wrote: the source's size and modification time the copied bytes belong to. */
export interface Copied {
  size: number;
  mtime: number;
}

/**
 * Copy `src` to `dst` through a temporary name beside `dst`, keeping the modification time;
 * the copy appears at `dst` only when complete. Missing parent folders are created.
 *
 * @param src Source file path.
 * @param dst Destination file path.
 * @param mtime Modification time the walk saw (ms since the epoch).
 * @param expect When set, `dst` must still have this size and mtime (an update).
 * @param known The source's size and mode as the walk saw them (saves a stat per file).
 * @param stop Asked between chunks of large files: true stops the copy ({@linkcode CopyStopped}).
 * @param onBytes Told how many bytes have just been copied (for progress).
 * @param retime Set the time again after the rename (file systems whose rename resets it).
 * @returns The size and time of the version copied (the walk's, unless the file changed since).
 * @throws {TargetChanged} When `dst` is not what `expect` says.
 * @throws {SourceChanged} When the source changed during the copy twice.
 */
export function copyFileAtomicSync(
  src: string,
  dst: string,
  mtime: number,
  expect?: { size: number; mtime: number },
  known?: KnownSource,
  stop?: () => boolean,
  onBytes?: (n: number) => void,
  retime = false,
): Copied {
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
  for (let attempt = 0;; attempt++) {
    const tmp = dir + path.sep + tempName();
    try {
      const input = Deno.openSync(src, { read: true });
      let got: Copied | undefined;
      try {
        // The first attempt trusts what the walk saw; a retry looks at the file afresh.
        const walk = attempt === 0 && known ? { size: known.size, mtime } : undefined;
        got = walk && known!.size <= SMALL
          ? copySmall(input, walk, known!.mode, tmp, dir)
          : copyChunked(input, tmp, dir, stop, onBytes);
      } finally {
        input.close();
      }
      if (got) {
        Deno.renameSync(tmp, dst);
        if (retime) Deno.utimeSync(dst, new Date(got.mtime), new Date(got.mtime));
        return got;
      }
    } catch (err) {
      removeQuietly(tmp);
      throw err;
    }
    removeQuietly(tmp);
    if (attempt >= 1) {
      throw new SourceChanged("changed while it was copied (twice); the next run copies it");
    }
  }
}

function removeQuietly(p: string): void {
  try {
    Deno.removeSync(p);
  } catch { /* never created, or gone */ }
}

/**
 * A file modified this recently (ms) may change again without its time changing: file times
 * advance by clock ticks (and Deno gives milliseconds), so a write in the same tick as the
 * look before a copy leaves the time as it was. Such a "racy" file (Git's word) is copied only
 * once that window has passed.
 */
export const RACY_MS = 30;

/**
 * Whether a file modified at `mtime` is racy now. A time in the future is not: a write now
 * would move it to now.
 *
 * @param mtime Modification time, ms.
 * @returns True within {@linkcode RACY_MS} of the clock.
 */
export function isRacyTime(mtime: number): boolean {
  const now = Date.now();
  return mtime >= now - RACY_MS && mtime <= now + RACY_MS;
}

/** Wait (blocking this thread) until a file modified at `mtime` is no longer racy. */
function settle(mtime: number): void {
  const wait = mtime + RACY_MS + 1 - Date.now();
  if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
}

/** Files up to this size are copied by one read and one write: fewer calls than chunks. */
const SMALL = 1 << 20;
/** Larger files go in chunks of this size, with a check for a stop between chunks. */
const CHUNK = 8 << 20;

let buffer = new Uint8Array(64 << 10);

/** A reusable buffer of at least `n` bytes: one allocation per thread, not one per file. */
function scratch(n: number): Uint8Array {
  if (buffer.length < n) buffer = new Uint8Array(Math.max(n, buffer.length * 2));
  return buffer;
}

function createTemp(tmp: string, dir: string, mode: number | undefined): Deno.FsFile {
  const opts: Deno.OpenOptions = { write: true, createNew: true, ...(mode ? { mode } : {}) };
  try {
    return Deno.openSync(tmp, opts);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    // The parent folder is missing (new, or deleted mid-run): create it and try again.
    Deno.mkdirSync(dir, { recursive: true });
    return Deno.openSync(tmp, opts);
  }
}

function finish(out: Deno.FsFile, tmp: string, mode: number | undefined, mtime: number): void {
  // The umask may have narrowed the mode given to open: restore group/other write bits.
  if (mode !== undefined && mode & 0o022) Deno.chmodSync(tmp, mode);
  const when = new Date(mtime);
  out.utimeSync(when, when);
}

/**
 * One read and one write. The file is checked once more after the read: its size and time
 * must still be what the walk saw, else the bytes read may mix two versions.
 *
 * @returns What was copied, or undefined when the source changed (the caller retries).
 */
function copySmall(
  input: Deno.FsFile,
  walk: Copied,
  modeBits: number | undefined,
  tmp: string,
  dir: string,
): Copied | undefined {
  // A file the walk saw modified a moment ago is copied the careful way (the caller retries).
  if (isRacyTime(walk.mtime)) return undefined;
  // One byte more than expected: a file that grew since the walk shows it at once.
  const want = walk.size + 1;
  const data = scratch(want);
  let got = 0;
  while (got < want) {
    const n = input.readSync(data.subarray(got, want));
    if (n === null || n === 0) break;
    got += n;
    // A regular file reads short only at its end: the expected size, read short, is all of
    // it (the look below catches a file that grew), and asking again would cost a call.
    if (got === walk.size && n < want - (got - n)) break;
  }
  const after = input.statSync();
  if (got !== walk.size || after.size !== walk.size || after.mtime?.getTime() !== walk.mtime) {
    return undefined;
  }
  const mode = modeBits === undefined ? undefined : modeBits & 0o7777;
  const out = createTemp(tmp, dir, mode);
  try {
    let put = 0;
    while (put < got) put += out.writeSync(data.subarray(put, got));
    finish(out, tmp, mode, walk.mtime);
  } finally {
    out.close();
  }
  return walk;
}

/**
 * Copy in chunks between two looks at the open file: the bytes are one version only when size,
 * modification time and change time are the same before and after.
 *
 * @returns What was copied, or undefined when the source changed (the caller retries).
 */
function copyChunked(
  input: Deno.FsFile,
  tmp: string,
  dir: string,
  stop: (() => boolean) | undefined,
  onBytes: ((n: number) => void) | undefined,
): Copied | undefined {
  let before = input.statSync();
  // Racy: wait until a write could not leave the time as it is, and look again.
  for (let i = 0; i < 3 && isRacyTime(before.mtime?.getTime() ?? 0); i++) {
    settle(before.mtime?.getTime() ?? 0);
    before = input.statSync();
  }
  if (isRacyTime(before.mtime?.getTime() ?? 0)) return undefined; // still being written
  const mode = before.mode === null ? undefined : before.mode & 0o7777;
  const out = createTemp(tmp, dir, mode);
  try {
    const data = scratch(Math.min(CHUNK, Math.max(before.size + 1, 1)));
    let total = 0;
    for (;;) {
      if (stop?.()) throw new CopyStopped();
      const n = input.readSync(data);
      if (n === null || n === 0) break;
      let put = 0;
      while (put < n) put += out.writeSync(data.subarray(put, n));
      total += n;
      onBytes?.(n);
    }
    const after = input.statSync();
    const same = total === before.size && after.size === before.size &&
      after.mtime?.getTime() === before.mtime?.getTime() &&
      after.ctime?.getTime() === before.ctime?.getTime();
    if (!same) return undefined;
    const mtime = before.mtime?.getTime() ?? 0;
    finish(out, tmp, mode, mtime);
    return { size: total, mtime };
  } finally {
    out.close();
  }
}

/** Whether a file's time is so recent that a write in the same clock tick could follow. */
export function isRacy(st: Deno.FileInfo): boolean {
  return isRacyTime(st.mtime?.getTime() ?? 0);
}

/** Whether two looks at a file saw the same version (size, modification and change time). */
export function sameVersion(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.size === b.size && a.mtime?.getTime() === b.mtime?.getTime() &&
    a.ctime?.getTime() === b.ctime?.getTime();
}

/** Files up to this size are read whole, synchronously (see {@linkcode readSmallFile}). */
export const SMALL_READ = 256 << 10;

/**
 * Read a small file whole with synchronous calls (about 10 µs here, against 100 µs for an
 * async open, read and close), between two looks at it that must agree.
 *
 * @param path The file.
 * @param key Names it in the error.
 * @returns Its bytes and modification time, or undefined when it is large or was written a
 * moment ago (the caller streams it, which waits for that).
 * @throws {Error} When it changed while it was read.
 */
export function readSmallFile(
  path: string,
  key: string,
): { bytes: Uint8Array; mtime: number } | undefined {
  const f = Deno.openSync(path, { read: true });
  try {
    const before = f.statSync();
    if (before.size > SMALL_READ || isRacy(before)) return undefined;
    const buf = new Uint8Array(before.size + 1);
    let got = 0;
    for (;;) {
      const n = f.readSync(buf.subarray(got));
      if (n === null || n === 0) break;
      got += n;
      if (got === buf.length) break; // grew past its size: the look below says so
    }
    const after = f.statSync();
    if (got !== before.size || !sameVersion(before, after)) {
      throw new Error(`"${key}" changed while it was copied; the next run copies it`);
    }
    return { bytes: buf.subarray(0, got), mtime: before.mtime?.getTime() ?? 0 };
  } finally {
    f.close();
  }
}
