/**
 * One pass of a mirror: every member opened and listed (a member that cannot take part sits
 * the round out), each path reconciled against the job's agreed state, the plan executed
 * across all members, the backends made durable, then the state written. Library code: it
 * emits events and throws typed errors; it never prints or exits.
 *
 * @module
 */
import {
  type Backend,
  type Entry,
  fastPath,
  type KnownFile,
  type Listing,
  type ListOptions,
} from "./backends/backend.ts";
import { foldNames } from "./plan/case_names.ts";
import { locationLabels } from "./plan/labels.ts";
import { describeError, SafetyError } from "./errors.ts";
import { confirmDeletes, executeDurably } from "./execute/execute.ts";
import { normaliseScope } from "./paths.ts";
import {
  type AgreedRow,
  type HoldRow,
  type MirrorInput,
  type MirrorMember,
  mirrorPlanner,
} from "./plan/mirror.ts";
import { countPlan, type Op, opsOf } from "./plan/types.ts";
import { deriveMirror, MirrorState } from "./state/mirror_state.ts";
import { overDeleteLimit } from "./pass/delete_limit.ts";
import { hashStage } from "./pass/hash_stage.ts";
import { readIgnoreFile } from "./pass/ignore.ts";
import type { Kind } from "./pass/kind.ts";
import type { PassOptions } from "./pass/options.ts";
import { placeOf } from "./pass/place.ts";
import { planEvent } from "./pass/plan_event.ts";
import { type PassResult, writtenBy } from "./pass/result.ts";
import { type Summary, ZERO_SUMMARY } from "./pass/summary.ts";

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

/** The mirror kind: two or more members, each a source and a destination. */
export const mirror: Kind = { name: "mirror", key: mirrorKey, pass: mirrorOnce };

const EMPTY: Listing = { entries: [], problems: [], skipped: [] };

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
export async function mirrorOnce(
  members: readonly Backend[],
  options: MirrorOptions,
): Promise<MirrorResult> {
  try {
    return await mirrorPass(members, options);
  } finally {
    for (const m of members) m.endPass?.();
  }
}

/** Two members listed in one go (a fast path), or undefined where that cannot be done. */
function listTogether(
  a: Backend,
  b: Backend,
  exclude: readonly string[],
): Promise<[Listing, Listing] | undefined> {
  const listWith = fastPath(a, "listWith");
  return listWith ? listWith(b, { exclude }).catch(() => undefined) : Promise.resolve(undefined);
}

async function mirrorPass(
  members: readonly Backend[],
  options: MirrorOptions,
): Promise<MirrorResult> {
  const started = performance.now();
  const { sink } = options;
  const n = members.length;
  const writes = options.dryRun ? "read" : "write";
  const out = new Array<boolean>(n).fill(false);
  const warn = (message: string) => sink.emit({ event: "note", level: "warn", message });
  const exists = await Promise.all(members.map(async (b) => {
    try {
      return (await b.open(writes)).exists;
    } catch (err) {
      return err;
    }
  }));
  if (!options.dryRun) {
    for (const b of members) {
      for (const f of b.formerIds ?? []) options.state?.adoptLocation(f, b.id);
    }
  }
  const places = members.map(placeOf);
  const sorted = [...places].sort();
  const stateNow = (readOnly: boolean) =>
    options.state
      ? new MirrorState(
        options.state,
        mirrorKey(members),
        members.map((m) => m.id),
        readOnly,
        members.map((_, i) => ({ rank: sorted.indexOf(places[i]!), missing: exists[i] !== true })),
      )
      : undefined;
  // Read first, written nothing: a member made below gets its id (a new folder's marker) first.
  let state = stateNow(true);
  const scope = state ? normaliseScope(options.scope) : undefined;
  const held = members.map((_, i) => state?.files(i) ?? 0);
  for (const [i, b] of members.entries()) {
    const e = exists[i];
    if (e === true) continue;
    if (e !== false) {
      out[i] = true;
      warn(`"${b.display}" cannot be reached (${describeError(e)}): it sits this round out`);
    } else if (held[i]! > 0 || state?.recorded(i)) {
      // Once the job has state, a missing root is never made again: it is a stick that is
      // unplugged or a share that is not mounted, and it catches up when it is back.
      out[i] = true;
      warn(
        `"${b.display}" is missing, but ${
          held[i]! > 0 ? `held ${held[i]} file(s)` : "took part"
        } at the last mirror: it sits this round out, is not created again${
          b.caps.local
            ? " (if it is gone for good, make it as an empty folder to have it filled)"
            : ""
        }, and nothing is deleted anywhere for it`,
      );
    } else if (!options.dryRun) {
      await b.createRoot();
      exists[i] = (await b.open(writes)).exists;
      sink.emit({ event: "note", level: "info", message: `Created "${b.display}"` });
    }
  }
  // A member made just now has its id now (a new folder's marker): the state is read under it.
  state = stateNow(!!options.dryRun);

  // What a killed run left (open multipart uploads, FTP temporary names and a swap's
  // window) is put right before anything is listed.
  if (options.state && !options.dryRun) {
    for (const [i, b] of members.entries()) {
      if (out[i] || exists[i] !== true || !b.recoverUploads) continue;
      const n = await b.recoverUploads(options.state).catch(() => 0);
      if (n > 0) {
        sink.emit({
          event: "note",
          level: "info",
          message: `Put right ${n} unfinished upload(s) of an earlier run in "${b.display}"`,
        });
      }
    }
  }
  const exclude = [...(options.exclude ?? [])];
  for (const [i, b] of members.entries()) {
    // Every member's patterns apply to all: one that cannot be read fails the pass.
    if (!out[i] && exists[i] === true) exclude.push(...await readIgnoreFile(b));
  }
  const holds: Map<string, HoldRow>[] = [];
  const listOne = async (b: Backend, i: number): Promise<Listing> => {
    if (out[i] || exists[i] !== true) return EMPTY;
    const o: ListOptions = { exclude };
    if (scope) o.under = scope;
    if (b.caps.modTime !== "stored") {
      const known = new Map<string, KnownFile>();
      for (const [k, h] of holds[i]!) if (h.size >= 0) known.set(k, h);
      o.known = known;
      if (b.caps.modTime === "slow") o.lazyMeta = true;
    }
    try {
      const l = await b.list(o);
      const pending = l.entries.filter((e) => e.metaPending);
      if (pending.length > 0 && b.fillMeta) {
        const problems = await b.fillMeta(pending);
        l.problems.push(...problems);
      }
      return l;
    } catch (err) {
      out[i] = true;
      warn(`"${b.display}" cannot be listed (${describeError(err)}): it sits this round out`);
      return EMPTY;
    }
  };
  // Members whose listing shows the times are walked (in Workers) while the state is read;
  // the others need the state's record first.
  const early: (Promise<Listing> | undefined)[] = members.map(() => undefined);
  // Two local folders are walked together (one pool of walkers for both trees: faster).
  const pairable = members.map((b, i) =>
    !scope && !out[i] && exists[i] === true && b.caps.modTime === "stored" && b.caps.fast?.listWith
  );
  const first = pairable.indexOf(true);
  const second = pairable.indexOf(true, first + 1);
  if (first >= 0 && second >= 0) {
    const both = listTogether(members[first]!, members[second]!, exclude);
    early[first] = both.then((r) => r?.[0] ?? listOne(members[first]!, first));
    early[second] = both.then((r) => r?.[1] ?? listOne(members[second]!, second));
  }
  members.forEach((b, i) => {
    if (!early[i] && b.caps.modTime === "stored") early[i] = listOne(b, i);
  });
  // The state's record is read first only where the listing needs it; for the others after
  // the listings, and not at all when they show nothing changed (below).
  members.forEach((_, i) => {
    if (!early[i]) holds[i] = state?.holds(i, scope) ?? new Map();
  });
  const listings = await Promise.all(members.map((b, i) => early[i] ?? listOne(b, i)));
  // One spelling of each name where a member folds case (a FAT stick beside a Linux folder).
  const folding = members.map((b, i) => !out[i] && b.caps.caseInsensitive);
  foldNames(
    listings,
    folding,
    members.filter((_, i) => folding[i]).map((b) => `"${b.display}"`).join(", "),
  );
  // A member that lists no file while the state says it held some (an unplugged stick behind a
  // mount point, a wiped bucket) is not mirrored as "everything deleted".
  if (!scope) {
    for (const [i, b] of members.entries()) {
      if (out[i] || held[i] === 0 || options.force) continue;
      if (listings[i]!.entries.some((e) => e.kind === "file")) continue;
      out[i] = true;
      warn(
        `"${b.display}" is empty, but held ${
          held[i]
        } file(s) at the last mirror: it sits this round out (if it was emptied on purpose, run with --force to spread that)`,
      );
    }
  }
  const takingPart = members.map((_, i) => i).filter((i) => !out[i]);
  if (takingPart.length < 2) {
    throw new SafetyError(
      `Only ${takingPart.length} of ${n} locations can take part: nothing was mirrored`,
    );
  }

  // Listings just as they were in the last pass that found nothing to do: nothing to do now
  // either (the state is only this job's, and unchanged since). No state is read, no plan made.
  const quiet = !!state && !scope && !options.checksum && takingPart.length === n &&
    listings.every((l) =>
      l.problems.length === 0 && l.skipped.length === 0 &&
      !l.entries.some((e) => e.archived || e.metaPending)
    );
  const digests = quiet ? listings.map((l) => listingDigest(l.entries)) : [];
  if (quiet) {
    const before = state!.digests();
    if (digests.every((d, i) => d === before[i])) {
      sink.emit({
        event: "note",
        level: "debug",
        message: "Every location lists what it did in the last pass that found nothing to do",
      });
      return {
        plan: { steps: [], conflicts: [], destFiles: 0 },
        summary: { ...ZERO_SUMMARY, seconds: (performance.now() - started) / 1000 },
        failures: [],
        interrupted: false,
        deletesHeld: false,
        archived: [],
        takingPart,
        written: [],
      };
    }
  }

  members.forEach((_, i) => holds[i] ??= state?.holds(i, scope) ?? new Map());
  const agreed = state?.agreed(scope) ?? new Map<string, AgreedRow>();

  const failures: PassResult["failures"] = [];
  const summary: Summary = { ...ZERO_SUMMARY };
  const archived: string[] = [];
  const names = locationLabels(places);
  // Each member's hash cache, read once and only if a hash is looked for.
  const caches = new Map<number, ReturnType<MirrorState["hashes"]> | undefined>();
  const hashCache = (i: number) => {
    if (!caches.has(i)) caches.set(i, state?.hashes(i));
    return caches.get(i);
  };
  const views: MirrorMember[] = members.map((b, i) => {
    const l = listings[i]!;
    for (const p of l.problems) {
      failures.push({ path: p.key, error: p.message });
      sink.emit({
        event: "fail",
        path: p.key,
        op: p.op ?? "list",
        error: p.message,
        location: b.display,
      });
    }
    for (const s of l.skipped) {
      summary.skipped++;
      sink.emit({ event: "skip", path: s.key, reason: s.reason, location: b.display });
    }
    summary.failed += l.problems.length;
    // Archived objects cannot be read now: they are kept, and nothing is judged about them.
    const kept = l.entries.filter((e) => e.archived || e.metaPending).map((e) => e.key);
    for (const k of kept) {
      archived.push(k);
      summary.skipped++;
      sink.emit({ event: "skip", path: k, reason: "archived: run `ferry restore` first" });
    }
    const h = holds[i]!;
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
        const c = hashCache(i)?.get(path);
        const r = h.get(path);
        return c && r && c.size === r.size && c.mtime === r.mtime && c.ino === r.ino
          ? c.sha256
          : undefined;
      },
      ...(out[i] ? { out: true } : {}),
    };
  });
  const input: MirrorInput = {
    members: views,
    agreed,
    checksum: !!options.checksum,
    now: Date.now(),
  };
  const tScan = performance.now();
  const wanted = mirrorPlanner.wants(input);
  const hashes = await hashStage(
    members,
    views.map((v) => v.entries as Entry[]),
    wanted.requests,
    (id) => hashCache(members.findIndex((m) => m.id === id)),
    sink,
    !!options.checksum,
  );
  const tHash = performance.now();
  const plan = mirrorPlanner.plan(input, hashes.byMember, wanted.index);
  const tPlan = performance.now();
  // Each member's deletions against its own files: a limit per location.
  const ops = opsOf(plan);
  const deletesAt = new Array<number>(n).fill(0);
  for (const o of ops) if (o.op === "delete") deletesAt[o.at]!++;
  for (const [i, b] of members.entries()) {
    const d = deletesAt[i]!;
    if (d === 0 || options.force) continue;
    // A scoped pass lists part of the member: the limit counts all it held.
    const files = scope ? Math.max(held[i]!, plan.filesPerMember[i]!) : plan.filesPerMember[i]!;
    const over = overDeleteLimit(options.maxDelete, d, files);
    if (over) {
      throw new SafetyError(
        `Refusing to delete ${d} of ${files} file(s) in "${b.display}": over --max-delete ${over}. Check the other locations, then raise --max-delete or use --force`,
      );
    }
  }

  for (const c of plan.conflicts) {
    summary.conflicts++;
    summary.failed++;
    failures.push({ path: c.key, error: c.message });
    sink.emit({ event: "conflict", path: c.key, message: c.message });
  }
  for (const r of plan.resolved) {
    summary.conflicts++;
    sink.emit({ event: "conflict", path: r.path, message: r.message });
  }
  const where = (o: Op) => members[o.at]!.display;

  if (options.dryRun) {
    for (const o of ops) sink.emit({ ...planEvent(o), location: where(o) });
    const c = countPlan({ steps: plan.steps, conflicts: [] });
    Object.assign(summary, {
      copied: c.copied,
      updated: c.updated,
      moved: c.moved,
      deleted: c.deleted,
      bytes: c.bytes,
    });
    summary.seconds = (performance.now() - started) / 1000;
    return {
      plan,
      summary,
      failures,
      interrupted: false,
      deletesHeld: false,
      archived,
      takingPart,
      written: [],
    };
  }

  const toRun = await confirmDeletes(plan, options.confirmDelete, sink);
  const part = takingPart.map((i) => members[i]!);
  const res = await executeDurably(toRun, members, part, {
    concurrency: Math.min(options.concurrency ?? 16, ...part.map((b) => b.caps.concurrency)),
    ...(options.retryDelay !== undefined ? { retryDelay: options.retryDelay } : {}),
    sink,
    holdDeletes: failures.length > 0,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (state) {
    // The members that took part are the job's from now on: missing later, they are not made.
    const unrecorded = takingPart.filter((i) => !state!.recorded(i));
    if (unrecorded.length > 0 && !res.interrupted) state.markTookPart(unrecorded);
    const changes = deriveMirror(toRun, res.outcomes, n, members.map((b) => b.caps.timePrecision));
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
    if (toRun.decisions.length > 0 || changes.seen.some((s) => s.length > 0)) {
      state.write(changes);
    }
  }

  // Nothing to do and nothing wrong: the listings are remembered, and the next pass that finds
  // them the same is done at once.
  if (
    quiet && ops.length === 0 && toRun.decisions.length === 0 && plan.conflicts.length === 0 &&
    failures.length === 0 && res.failed === 0 && !res.interrupted &&
    !holds.some((h) => [...h.values()].some((r) => r.racy))
  ) state!.setDigests(digests);
  const secs = (x: number, y: number) => ((y - x) / 1000).toFixed(3);
  sink.emit({
    event: "note",
    level: "debug",
    message: `timings: open+scan+state ${secs(started, tScan)} s, hash ${
      secs(tScan, tHash)
    } s, plan ${secs(tHash, tPlan)} s, execute+commit ${secs(tPlan, performance.now())} s`,
  });
  for (const o of res.outcomes) {
    if (o.status === "failed") {
      failures.push({ path: o.op.op === "move" ? o.op.to : o.op.key, error: o.message ?? "" });
    }
    if (o.status !== "done") continue;
    const op = o.op;
    if (op.op === "copy") summary.copied++;
    else if (op.op === "update" || op.op === "retime") summary.updated++;
    else if (op.op === "move") summary.moved += op.files;
    else if (op.op === "delete") summary.deleted++;
  }
  summary.failed += res.failed;
  if (res.stopped) {
    failures.push({
      path: `(${res.stopped.notAttempted} not attempted)`,
      error: res.stopped.reason,
    });
  }
  summary.skipped += res.skipped;
  summary.bytes = res.bytes;
  summary.seconds = (performance.now() - started) / 1000;
  return {
    plan: toRun,
    summary,
    failures,
    interrupted: res.interrupted,
    deletesHeld: res.deletesHeld,
    archived,
    takingPart,
    written: writtenBy(res.outcomes),
  };
}
