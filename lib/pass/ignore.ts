/**
 * A location's own ignore file (`.ferryignore`), read at the start of a pass.
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";
import { IGNORE_FILE } from "../paths.ts";
import { parseIgnoreFile } from "../scan/filter.ts";

/**
 * The patterns of a location's `.ferryignore` (none when there is no such file, or it is
 * a folder or larger than 1 MiB).
 *
 * @param b An opened location whose root exists.
 * @returns gitignore-style patterns.
 */
export async function readIgnoreFile(b: Backend): Promise<string[]> {
  const e = await b.stat(IGNORE_FILE).catch(() => undefined);
  if (!e || e.kind !== "file" || e.size > 1 << 20) return [];
  const text = await new Response(await b.read(IGNORE_FILE)).text();
  return parseIgnoreFile(text);
}
