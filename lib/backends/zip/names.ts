/**
 * The files a ZIP location keeps beside its archive, named in one place: the ZIP backend makes
 * them, and the CLI leaves them out of a job whose folder holds the archive. Loaded without the
 * backend (which brings the deflate codec).
 *
 * @module
 */
import * as nodePath from "node:path";

/** A new archive made beside the real one, then renamed over it: `NAME.ferry-new-<pid>`. */
export const NEW_TAG = ".ferry-new-";
/** A compacted archive made beside the real one: `NAME.ferry-compact-<pid>`. */
export const COMPACT_TAG = ".ferry-compact-";
/**
 * An update's new entries, packed beside the archive while the pass runs and appended to it at
 * commit (the archive itself is untouched until then): `NAME.ferry-pack-<pid>`.
 */
export const PACK_TAG = ".ferry-pack-";
/** Every tag of a temporary file named `NAME<tag><pid>` beside the archive. */
export const TEMP_TAGS = [NEW_TAG, COMPACT_TAG, PACK_TAG] as const;

/**
 * A hidden file beside the archive: `.NAME.ferry-journal` (an update's undo record) or
 * `.NAME.ferry-lock` (held while a pass uses the archive).
 *
 * @param archive The archive's path.
 * @param what Which file.
 * @returns Its path.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(besideArchive("/media/usb/b.zip", "lock"), "/media/usb/.b.zip.ferry-lock");
 * ```
 */
export function besideArchive(archive: string, what: "journal" | "lock"): string {
  return nodePath.join(nodePath.dirname(archive), besideName(nodePath.basename(archive), what));
}

/**
 * The name of such a file for an archive named `name`.
 *
 * @param name The archive's file name.
 * @param what Which file.
 * @returns `.NAME.ferry-journal` or `.NAME.ferry-lock`.
 */
export function besideName(name: string, what: "journal" | "lock"): string {
  return `.${name}.ferry-${what}`;
}
