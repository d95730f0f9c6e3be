/**
 * The hash stage of a pass: the SHA-256 of each entry a planner asked for.
 *
 * @module
 */
import { type Backend, type Entry, fastPath } from "../backends/backend.ts";
import type { EventSink } from "../execute/events.ts";
import type { HashRequest } from "../plan/types.ts";
import { sha256Stream } from "../state/hash.ts";
import type { HashRow } from "../state/store.ts";
import { runPool } from "../util/pool.ts";

/** The hashes of a pass: what the planner asked for, per member, and what was read anew. */
export interface Hashes {
  /** SHA-256 by key, one map per member. */
  byMember: Map<string, string>[];
  /** Entries hashed by reading (or asking the store) this pass, per member: to be cached. */
  fresh: Entry[][];
}

function _cachedHash(rows: Map<string, HashRow> | undefined, e: Entry): string | undefined {
  const r = rows?.get(e.key);
  if (r && r.size === e.size && r.mtime === e.mtime && r.ino === (e.ino ?? 0)) {
    return r.sha256;
  }
  return undefined;
}

/**
 * The hash stage: the SHA-256 of each entry a planner asked for, from the listing, the
 * location's hash cache, the store's own record, or by reading the content. Entries are not
 * changed: the hashes come back as maps.
 *
 * @param members The pass's locations.
 * @param listings Each member's entries, in the same order.
 * @param requests What the planner asked for (`at` indexes `members`).
 * @param hashesOf A location's hash cache by its id, if any.
 * @param sink Where a file that cannot be hashed is noted (debug).
 * @param afresh `--checksum`: local content is read again, never taken from the cache.
 * @returns The hashes per member, and the entries hashed this pass.
 */
export async function hashStage(
  members: readonly Backend[],
  listings: readonly Entry[][],
  requests: readonly HashRequest[],
  hashesOf: (id: string) => Map<string, HashRow> | undefined,
  sink: EventSink,
  afresh: boolean,
): Promise<Hashes> {
  const out: Hashes = { byMember: members.map(() => new Map()), fresh: members.map(() => []) };
  for (const req of requests) {
    const b = members[req.at]!;
    const want = new Set(req.keys);
    const entries = listings[req.at]!.filter((e) => want.has(e.key));
    const got = out.byMember[req.at]!;
    // --checksum reads local content anew: a cache cannot prove a file unchanged (an edit that
    // kept size and time, or bytes corrupted in place).
    const rows = afresh && b.caps.local ? undefined : hashesOf(b.id);
    const fresh = out.fresh[req.at]!;
    const uncached = new Set(req.uncached);
    await runPool(entries, 4, async (e) => {
      if (e.sha256) return; // the listing had it already
      const cached = uncached.has(e.key) ? undefined : _cachedHash(rows, e);
      if (cached) {
        got.set(e.key, cached);
        return;
      }
      try {
        // A store that kept the hash answers without sending the content.
        const stored = await fastPath(b, "storedHash")?.(e.key);
        got.set(e.key, stored ?? await sha256Stream(await b.read(e.key)));
        fresh.push(e);
      } catch (err) {
        sink.emit({ event: "note", level: "debug", message: `Could not hash "${e.key}": ${err}` });
      }
    });
  }
  return out;
}
