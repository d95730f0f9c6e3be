/**
 * The mirror kind: two or more members, each a source and a destination. `runPass`
 * (`lib/pass/run.ts`) makes the pass; this file says what is a mirror's about it: a member that
 * cannot take part sits the round out, each path is reconciled against the job's agreed state,
 * a pass whose listings are those of the last quiet one ends at once, and the state is written
 * from the plan's decisions. Library code: it emits events and throws typed errors; it never
 * prints or exits.
 *
 * @module
 */
import type { Backend, Entry, KnownFile } from "./backends/backend.ts";
import { foldNames } from "./plan/case_names.ts";
import { locationLabels } from "./plan/labels.ts";
import { describeError, SafetyError } from "./errors.ts";
import {
  type AgreedRow,
  type HoldRow,
  type MirrorIndex,
  type MirrorInput,
  type MirrorMember,
  type MirrorPlan,
  mirrorPlanner,
} from "./plan/mirror.ts";
import { opsOf } from "./plan/types.ts";
import { deriveMirror, MirrorState } from "./state/mirror_state.ts";
import type { HashRow } from "./state/store.ts";
import { deletesPerMember, overDeleteLimit } from "./pass/delete_limit.ts";
import type { ExecResult } from "./execute/execute.ts";
import type { Hashes } from "./pass/hash_stage.ts";
import type { Kind, Pass } from "./pass/kind.ts";
import type { PassOptions } from "./pass/options.ts";
import { placeOf } from "./pass/place.ts";
import type { PassResult } from "./pass/result.ts";
import { createMember, openMember } from "./pass/roots.ts";
import { runPass } from "./pass/run.ts";
import { ZERO_SUMMARY } from "./pass/summary.ts";

/**
 * Options of {@linkcode mirrorOnce}: those of every pass, no `delete` (a mirror spreads the
 * deletions its state proves). `maxDelete` counts each member; `force` also lets a member that
 * was emptied take part. (An alias, not an interface: it adds nothing to extend with.)
 */
export type MirrorOptions = PassOptions;

/** What a mirror pass did. */
export interface MirrorResult extends PassResult {
  /** Members that took part (the others sat the round out). */
  takingPart: number[];
}

/**
 * The key a mirror's state is kept under: its kind and its members, in a fixed order (the
 * same mirror given its locations in another order is the same job).
 *
 * @param members The members.
 * @returns Such as `mirror file:/a > s3:aws/b/p`.
 */
export function mirrorKey(members: readonly Backend[]): string {
  return `mirror ${members.map(placeOf).sort().join(" > ")}`;
}

/**
 * A digest of a listing, the same whatever order the entries come in: each entry's key, kind,
 * size, time, inode and stamp hashed (FNV-1a, two seeds), summed and xor-ed. Any change to any
 * entry changes it (but for a 1 in 2^96 chance, which would only delay a pass, never lose a
 * file).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const a = { key: "a", kind: "file" as const, size: 1, mtime: 2 };
 * const b = { key: "b", kind: "file" as const, size: 1, mtime: 2 };
 * assert.equal(listingDigest([a, b]), listingDigest([b, a]));
 * assert.notEqual(listingDigest([a, b]), listingDigest([a, { ...b, mtime: 3 }]));
 * ```
 *
 * @param entries The listing.
 * @returns The digest.
 */
export function listingDigest(entries: readonly Entry[]): string {
  let sum1 = 0;
  let sum2 = 0;
  let xor = 0;
  for (const e of entries) {
    const text = `${e.key}\u0000${e.kind}\u0000${e.size}\u0000${e.mtime}\u0000${e.ino ?? 0}\u0000${
      e.stamp ?? ""
    }`;
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ 0x5bd1e995;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
    sum1 = (sum1 + (h1 >>> 0)) >>> 0;
    sum2 = (sum2 + (h2 >>> 0)) >>> 0;
    xor = (xor ^ h1 ^ Math.imul(h2, 31)) >>> 0;
  }
  return `${entries.length}:${sum1}:${sum2}:${xor}`;
}

/**
 * Make every member hold the same files, both ways.
 *
 * @param members Two or more locations.
 * @param options Flags, event sink, state store.
 * @returns The plan and what was done.
 * @throws {SafetyError} When fewer than two members can take part, or a member would lose more
 * than `--max-delete` allows.
 */
export function mirrorOnce(
  members: readonly Backend[],
  options: MirrorOptions,
): Promise<MirrorResult> {
  return runPass(members, mirrorKind, options) as Promise<MirrorResult>;
}

/** What a mirror pass keeps of the state: the job's rows as read, and what it listed. */
interface MirrorPassState {
  /** Undefined without a state store. */
  state: MirrorState | undefined;
  /** Each member's holds (in scope), read once and only where needed. */
  holds: Map<string, HoldRow>[];
  hashes: (Map<string, HashRow> | undefined)[];
  /**
   * The listings' digests, when this pass may find nothing to do (see `listed`): worked out
   * only when there are digests to compare with, or when the pass did find nothing to do (a
   * first copy of 10,000 files spent 19 ms on them for nothing).
   */
  digests: (() => string[]) | undefined;
}

/** The job's rows, under the ids the members have now (a missing one: its recorded id). */
function mirrorState(pass: Pass, readOnly: boolean): MirrorState | undefined {
  const { members, options } = pass;
  if (!options.state) return undefined;
  const places = members.map(placeOf);
  const sorted = [...places].sort();
  return new MirrorState(
    options.state,
    mirrorKey(members),
    members.map((m) => m.id),
    readOnly,
    members.map((_, i) => ({
      rank: sorted.indexOf(places[i]!),
      missing: pass.exists[i] !== true,
    })),
  );
}

const mirrorKind: Kind<MirrorPassState, MirrorInput, MirrorIndex, MirrorPlan> = {
  name: "mirror",
  key: mirrorKey,
  pass: (members, options) => runPass(members, mirrorKind, options),
  planner: mirrorPlanner,
  writes: () => true,
  roots: (pass) => mirrorRoots(pass),
  readState: (pass) => ({
    // A member made just now has its id now (a new folder's marker): the state is read under it.
    state: mirrorState(pass, !!pass.options.dryRun),
    holds: [],
    hashes: [],
    digests: undefined,
  }),
  known(pass, s, i) {
    const holds = s!.holds[i] = s!.state?.holds(i, pass.scope) ?? new Map();
    const known = new Map<string, KnownFile>();
    for (const [k, h] of holds) if (h.size >= 0) known.set(k, h);
    return known;
  },
  listFailed(pass, i, err) {
    // Per kind: a member that cannot be listed sits the round out, as one that cannot be
    // reached: the others can still be mirrored (a sync of two has nothing left, and fails).
    pass.out[i] = true;
    pass.warn(
      `"${pass.members[i]!.display}" cannot be listed (${
        describeError(err)
      }): it sits this round out`,
    );
  },
  // Per kind: every member's pending times (a sync asks only for those its plan needs).
  fillMeta: (pass) => fillAllMeta(pass),
  listed: (pass, s) => mirrorListed(pass, s!),
  view: (pass, s) => mirrorView(pass, s!),
  hashCache(s, i) {
    if (!(i in s!.hashes)) s!.hashes[i] = s!.state?.hashes(i);
    return s!.hashes[i];
  },
  outside(pass, s, i) {
    let inside = 0;
    for (const h of s!.holds[i]?.values() ?? []) if (h.size >= 0) inside++;
    return Math.max(0, pass.held[i]! - inside);
  },
  guards(pass, plan, totals) {
    // Each member's deletions against its own files: a limit per location.
    deletesPerMember(plan, pass.members.length).forEach((d, i) => {
      if (d === 0 || pass.options.force) return;
      const over = overDeleteLimit(pass.options.maxDelete, d, totals[i]!);
      if (over) {
        throw new SafetyError(
          `Refusing to delete ${d} of ${totals[i]} file(s) in "${
            pass.members[i]!.display
          }": over --max-delete ${over}. Check the other locations, then raise --max-delete or use --force`,
        );
      }
    });
  },
  record: (pass, s, plan, res, hashes) => recordMirror(pass, s, plan, res, hashes),
  extras: (pass) => ({
    takingPart: pass.members.map((_, i) => i).filter((i) => !pass.out[i]),
  }),
};

/** The mirror kind: two or more members, each a source and a destination. */
export const mirror: Kind = mirrorKind;

/**
 * Every member opened; one that cannot be reached sits the round out, and so does one that is
 * missing once the job has state. Others missing are made.
 */
async function mirrorRoots(pass: Pass): Promise<void> {
  const { members, options } = pass;
  await Promise.all(members.map((_, i) => openMember(pass, i, true).catch(() => false)));
  // Read first, written nothing: a member made below gets its id (a new folder's marker) first.
  const state = mirrorState(pass, true);
  pass.held = members.map((_, i) => state?.files(i) ?? 0);
  for (const [i, b] of members.entries()) {
    const e = pass.exists[i];
    const held = pass.held[i]!;
    if (e === true) continue;
    if (e !== false) {
      pass.out[i] = true;
      pass.warn(`"${b.display}" cannot be reached (${describeError(e)}): it sits this round out`);
    } else if (held > 0 || state?.recorded(i)) {
      // Once the job has state, a missing root is never made again: it is a stick that is
      // unplugged or a share that is not mounted, and it catches up when it is back.
      pass.out[i] = true;
      pass.warn(
        `"${b.display}" is missing, but ${
          held > 0 ? `held ${held} file(s)` : "took part"
        } at the last mirror: it sits this round out, is not created again${
          b.caps.local
            ? " (if it is gone for good, make it as an empty folder to have it filled)"
            : ""
        }, and nothing is deleted anywhere for it`,
      );
    } else if (!options.dryRun) await createMember(pass, i);
  }
}

/**
 * Every entry whose time the listing left out: in a mirror every member is a source, and the
 * time of each decides which version wins. One whose time cannot be read stays listed (and
 * is kept, nothing judged about it, in `mirrorView`): dropped, as a sync drops it, it would
 * read as deleted in that member, a deletion to spread.
 */
async function fillAllMeta(pass: Pass): Promise<void> {
  await Promise.all(pass.members.map(async (b, i) => {
    const l = pass.listings[i]!;
    const pending = l.entries.filter((e) => e.metaPending);
    if (pass.out[i] || pending.length === 0 || !b.fillMeta) return;
    try {
      l.problems.push(...await b.fillMeta(pending));
    } catch (err) {
      pass.listings[i] = { entries: [], problems: [], skipped: [] };
      mirrorKind.listFailed(pass, i, err);
    }
  }));
}

/**
 * Names folded where a member folds case; a member that lists nothing while it held files
 * sits the round out; and when the listings are just as they were in the last pass that found
 * nothing to do, the pass ends here.
 */
function mirrorListed(pass: Pass, s: MirrorPassState): MirrorResult | undefined {
  const { members, listings, options } = pass;
  const n = members.length;
  // One spelling of each name where a member folds case (a FAT stick beside a Linux folder).
  const folding = members.map((b, i) => !pass.out[i] && b.caps.caseInsensitive);
  foldNames(
    listings,
    folding,
    members.filter((_, i) => folding[i]).map((b) => `"${b.display}"`).join(", "),
  );
  // A member that lists no file while the state says it held some (an unplugged stick behind a
  // mount point, a wiped bucket) is not mirrored as "everything deleted".
  if (!pass.scope) {
    for (const [i, b] of members.entries()) {
      if (pass.out[i] || pass.held[i] === 0 || options.force) continue;
      if (listings[i]!.entries.some((e) => e.kind === "file")) continue;
      pass.out[i] = true;
      pass.warn(
        `"${b.display}" is empty, but held ${
          pass.held[i]
        } file(s) at the last mirror: it sits this round out (if it was emptied on purpose, run with --force to spread that)`,
      );
    }
  }
  const takingPart = members.map((_, i) => i).filter((i) => !pass.out[i]);
  if (takingPart.length < 2) {
    throw new SafetyError(
      `Only ${takingPart.length} of ${n} locations can take part: nothing was mirrored`,
    );
  }
  // Listings just as they were in the last pass that found nothing to do: nothing to do now
  // either (the state is only this job's, and unchanged since). No state is read, no plan made.
  const quiet = !!s.state && !pass.scope && !options.checksum && takingPart.length === n &&
    listings.every((l) =>
      l.problems.length === 0 && l.skipped.length === 0 &&
      !l.entries.some((e) => e.archived || e.metaPending)
    );
  if (!quiet) return undefined;
  const entries = listings.map((l) => l.entries);
  let digests: string[] | undefined;
  s.digests = () => digests ??= entries.map(listingDigest);
  const before = s.state!.digests();
  if (before.some((d) => d === undefined)) return undefined;
  if (!s.digests().every((d, i) => d === before[i])) return undefined;
  options.sink.emit({
    event: "note",
    level: "debug",
    message: "Every location lists what it did in the last pass that found nothing to do",
  });
  return {
    plan: { steps: [], conflicts: [], destFiles: 0 },
    summary: { ...ZERO_SUMMARY, seconds: (performance.now() - pass.started) / 1000 },
    failures: [],
    interrupted: false,
    deletesHeld: false,
    archived: [],
    takingPart,
    written: [],
  };
}

/** The planner's view: each member's entries, holds and hash cache, and the agreed rows. */
function mirrorView(pass: Pass, s: MirrorPassState): { view: MirrorInput; entries: Entry[][] } {
  const { members, scope } = pass;
  const { sink } = pass.options;
  members.forEach((_, i) => s.holds[i] ??= s.state?.holds(i, scope) ?? new Map());
  const agreed = s.state?.agreed(scope) ?? new Map<string, AgreedRow>();
  const names = locationLabels(members.map(placeOf));
  const views: MirrorMember[] = members.map((b, i) => {
    const l = pass.listings[i]!;
    // Archived objects cannot be read now, nor entries whose time could not be read: they are
    // kept, and nothing is judged about them.
    const kept = l.entries.filter((e) => e.archived || e.metaPending).map((e) => e.key);
    for (const k of kept) {
      pass.archived.push(k);
      pass.summary.skipped++;
      sink.emit({ event: "skip", path: k, reason: "archived: run `ferry restore` first" });
    }
    const h = s.holds[i]!;
    return {
      entries: kept.length ? l.entries.filter((e) => !e.archived && !e.metaPending) : l.entries,
      holds: h,
      label: names[i]!,
      display: b.display,
      id: b.id,
      dirs: !!b.caps.dirs,
      canMove: !!b.move,
      timePrecision: b.caps.timePrecision,
      problems: [...l.problems.map((p) => p.key), ...kept],
      cachedHash: (path: string) => {
        const c = mirrorKind.hashCache(s, i)?.get(path);
        const r = h.get(path);
        return c && r && c.size === r.size && c.mtime === r.mtime && c.ino === r.ino
          ? c.sha256
          : undefined;
      },
      ...(pass.out[i] ? { out: true } : {}),
    };
  });
  const view: MirrorInput = {
    members: views,
    agreed,
    checksum: !!pass.options.checksum,
    now: Date.now(),
  };
  return { view, entries: views.map((v) => v.entries as Entry[]) };
}

/** The pass written to the state in one transaction, and its listings kept when it was quiet. */
function recordMirror(
  pass: Pass,
  s: MirrorPassState,
  toRun: MirrorPlan,
  res: ExecResult,
  hashes: Hashes,
): void {
  const state = s.state;
  if (!state) return;
  const { members } = pass;
  const takingPart = members.map((_, i) => i).filter((i) => !pass.out[i]);
  // The members that took part are the job's from now on: missing later, they are not made.
  const unrecorded = takingPart.filter((i) => !state.recorded(i));
  if (unrecorded.length > 0 && !res.interrupted) state.markTookPart(unrecorded);
  const changes = deriveMirror(
    toRun,
    res.outcomes,
    members.length,
    members.map((b) => b.caps.timePrecision),
  );
  hashes.fresh.forEach((list, i) => {
    for (const e of list) {
      const sha = hashes.byMember[i]!.get(e.key);
      if (sha) {
        changes.seen[i]!.push({
          path: e.key,
          size: e.size,
          mtime: e.mtime,
          ino: e.ino ?? 0,
          sha256: sha,
        });
      }
    }
  });
  if (toRun.decisions.length > 0 || changes.seen.some((x) => x.length > 0)) state.write(changes);
  // Nothing to do and nothing wrong: the listings are remembered, and the next pass that finds
  // them the same is done at once.
  if (
    s.digests && opsOf(toRun).length === 0 && toRun.decisions.length === 0 &&
    toRun.conflicts.length === 0 && pass.failures.length === 0 && res.failed === 0 &&
    !res.interrupted && !s.holds.some((h) => [...h.values()].some((r) => r.racy))
  ) state.setDigests(s.digests());
}
