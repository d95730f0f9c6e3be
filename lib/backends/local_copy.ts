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
  const dir = path.dirname(dst);
  const tmp = path.join(dir, tempName());
  try {
    try {
      Deno.copyFileSync(src, tmp);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      // The parent folder is missing (new, or deleted mid-run): create it and try again.
      if (!existsSync(src)) throw err;
      Deno.mkdirSync(dir, { recursive: true });
      Deno.copyFileSync(src, tmp);
    }
    const when = new Date(mtime);
    Deno.utimeSync(tmp, when, when);
    Deno.renameSync(tmp, dst);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* never created */ }
    throw err;
  }
}

function existsSync(p: string): boolean {
  try {
    Deno.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
