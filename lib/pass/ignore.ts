/**
 * A location's own ignore file (`.ferryignore`), read at the start of a pass.
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";
import { describeError, LocationError } from "../errors.ts";
import { IGNORE_FILE } from "../paths.ts";
import { parseIgnoreFile } from "../scan/filter.ts";

/**
 * The patterns of a location's `.ferryignore` (none when there is no such file, or it is
 * a folder or larger than 1 MiB).
 *
 * A file that is there but cannot be read fails the pass, in a sync and a mirror alike: taken
 * for no patterns, it would copy (and spread deletions of) what the user meant to keep out.
 *
 * @param b An opened location whose root exists.
 * @returns gitignore-style patterns.
 * @throws {LocationError} When the file is there but cannot be read (exit 2, as for a root
 * that cannot be read).
 */
export async function readIgnoreFile(b: Backend): Promise<string[]> {
  const e = await b.stat(IGNORE_FILE).catch(() => undefined);
  if (!e || e.kind !== "file" || e.size > 1 << 20) return [];
  try {
    return parseIgnoreFile(await new Response(await b.read(IGNORE_FILE)).text());
  } catch (err) {
    throw new LocationError(
      `Cannot read "${IGNORE_FILE}" in "${b.display}": ${describeError(err)}`,
      { cause: err },
    );
  }
}
