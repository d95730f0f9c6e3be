/**
 * Two locations of one job must be distinct places, neither inside the other: a sync into
 * itself nests one level deeper every run, and with `--delete` it can destroy its own source.
 * Each backend kind says how two of its locations stand (`compare` in lib/backends/kind.ts):
 * folders by their real paths and by device and inode, buckets by store, name and prefix, FTP
 * folders by host, port and path. Locations of different kinds are apart.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { Location } from "../location.ts";
import { kindOf } from "../backends/registry.ts";

export { realPathOf } from "../backends/local/same_place.ts";

/**
 * Refuse two locations that are the same place or nested.
 *
 * @param a The first location.
 * @param b The second location.
 * @param endpoint The S3 endpoint both S3 locations use, if any.
 * @throws {UsageError} When they are the same or one is inside the other.
 */
export function checkDistinct(a: Location, b: Location, endpoint?: string): void {
  const kind = kindOf(a);
  const how = kind === kindOf(b) && kind.compare
    ? kind.compare(a, b, endpoint !== undefined ? { endpoint } : {})
    : "apart";
  if (how === "same") throw new UsageError(`"${a.text}" and "${b.text}" are the same place`);
  if (how === "nested") {
    throw new UsageError(
      `"${a.text}" and "${b.text}" are nested: one inside the other would sync into itself`,
    );
  }
}
