/**
 * Planning a one-way sync: a pure function of two listings and the prior state.
 *
 * @module
 */
import type { Entry } from "../backends/backend.ts";
import { isWithin, matchKey, parentKey } from "../paths.ts";
import type { Conflict, Expect, HashRequest, Op, Plan, Planner, Step } from "./types.ts";

/** The members of a one-way job: the source reads, the destination is written. */
const SRC = 0;
const DST = 1;

/** What the planner knows of the last run, for rename detection. */
export interface PriorState {
  /**
   * Source rows by `ino:dev` → the path the file had then, with its size and mtime. Only
   * inodes that still name the same file belong here (the caller proves it by birth time).
   */
  srcByInode: Map<string, { path: string; size: number; mtime: number }>;
}

/** Inputs of {@linkcode planOneWay}. */
export interface OneWayInput {
  /** The source's listing (keys NFC, as backends give them). */
  src: readonly Entry[];
  /** The destination's listing. */
  dst: readonly Entry[];
  /** Source keys that could not be read: nothing at or below them is deleted. */
  srcProblems?: readonly string[];
  /** Source files that exist but cannot be copied now (archived): never deleted in the destination. */
  srcKept?: ReadonlySet<string>;
  /** The destination holds folders of its own (false for object stores): plan mkdir/rmdir. */
  dstDirs?: boolean;
  /** Largest time difference (ms, exclusive) still counted as equal. */
  modifyWindow: number;
  /** Fold case when matching names (either side is case-insensitive). */
  foldCase: boolean;
  /** Compare by SHA-256 (entries' own `sha256`, else the hashes computed for the plan). */
  checksum: boolean;
  /** SHA-256 of source files by key, computed for this plan (entries are never changed). */
  srcHashes?: ReadonlyMap<string, string>;
  /** SHA-256 of destination files by key. */
  dstHashes?: ReadonlyMap<string, string>;
  /** Delete in the destination what the source lacks. */
  delete: boolean;
  /**
   * The destination can set a file's time without its content: a file `--checksum` finds
   * equal but whose time differs gets its time set; without it the file is written again
   * (else the next run without `--checksum` would copy it again, and every run after).
   */
  dstRetime?: boolean;
  /** The last run's source by inode, to plan renames as moves; absent: no renames found so. */
  prior?: PriorState;
  /**
   * The source's keys at this job's last pass (from the state), as {@linkcode matchKey} makes
   * them. Without `delete`, a destination file is taken for a renamed one by its content only
   * where the source had its path: a file this job never placed (another job's, the user's
   * own) is neither moved nor reused, as it would not be deleted.
   */
  srcHad?: ReadonlySet<string>;
}

/** Whether a destination file the source lacks may become a renamed source file's. */
function reusable(o: Entry, input: OneWayInput): boolean {
  return input.delete || !!input.srcHad?.has(matchKey(o.key, input.foldCase));
}

/**
 * Whether two files hold the same content by the chosen comparison.
 *
 * @param s Source entry.
 * @param d Destination entry.
 * @param input Planner options.
 * @returns True when no transfer is needed.
 */
export function sameFile(
  s: Entry,
  d: Entry,
  input: Pick<OneWayInput, "modifyWindow" | "checksum" | "srcHashes" | "dstHashes">,
): boolean {
  if (s.size !== d.size) return false;
  if (input.checksum) {
    const a = srcHash(input, s);
    return a !== undefined && a === dstHash(input, d);
  }
  // A store that kept no modification time has the upload time instead, which is at or after
  // the file's own: in step when the upload came after the change (as `aws s3 sync` decides).
  // Stores give upload times in whole seconds: a file written and uploaded within one second
  // has an upload time up to 999 ms before its own.
  const window = Math.max(input.modifyWindow, UPLOAD_TIME_PRECISION);
  if (d.mtimeKind === "upload") return d.mtime + window > s.mtime;
  if (s.mtimeKind === "upload") return s.mtime < d.mtime + window;
  return Math.abs(s.mtime - d.mtime) < windowOf(s, d, input.modifyWindow);
}

/** A source file's SHA-256: what its listing carried, or what was computed for the plan. */
function srcHash(input: Pick<OneWayInput, "srcHashes">, e: Entry): string | undefined {
  return e.sha256 ?? input.srcHashes?.get(e.key);
}

/** A destination file's SHA-256, likewise. */
function dstHash(input: Pick<OneWayInput, "dstHashes">, e: Entry): string | undefined {
  return e.sha256 ?? input.dstHashes?.get(e.key);
}

/**
 * The one-way planner: asks for the hashes that `--checksum` compares and that can prove a
 * rename, then plans.
 */
export const oneWayPlanner: Planner<OneWayInput, Match> = {
  wants(input: OneWayInput): { requests: HashRequest[]; index: Match } {
    const m = matchListings(input);
    const src: string[] = [];
    const dst = new Set<string>();
    if (input.checksum) {
      for (let i = 0; i < m.pairSrc.length; i++) {
        const s = m.pairSrc[i]!;
        const d = m.pairDst[i]!;
        if (s.kind === "file" && d.kind === "file" && s.size === d.size) {
          src.push(s.key);
          dst.add(d.key);
        }
      }
    }
    const cand = renameCandidates(input, m);
    src.push(...cand.src);
    for (const k of cand.dst) dst.add(k);
    const requests = [{ at: SRC, keys: src }, { at: DST, keys: [...dst] }];
    return { requests: requests.filter((r) => r.keys.length > 0), index: m };
  },
  plan(input: OneWayInput, hashes: readonly ReadonlyMap<string, string>[], index: Match): Plan {
    return planMatched({
      ...input,
      ...(hashes[SRC] ? { srcHashes: hashes[SRC] } : {}),
      ...(hashes[DST] ? { dstHashes: hashes[DST] } : {}),
    }, index);
  },
};

/**
 * The difference under which two times count as equal: the locations' window, or wider where
 * an entry's own time is coarser (an archive entry with a 2 s DOS time).
 */
function windowOf(s: Entry, d: Entry, modifyWindow: number): number {
  return Math.max(modifyWindow, s.precision ?? 0, d.precision ?? 0);
}

/** Upload times (S3 LastModified) are whole seconds. */
const UPLOAD_TIME_PRECISION = 1000;

/** Key for inode lookups. */
export function inodeKey(e: { ino?: number; dev?: number }): string | undefined {
  return e.ino ? `${e.ino}:${e.dev ?? 0}` : undefined;
}

/**
 * Source files that are new and destination files that are orphans, matched by size: the
 * pairs whose SHA-256 could reveal a rename. Used to decide what to hash before planning.
 *
 * @param input Listings and options (the same as for planning).
 * @param split The listings matched by name.
 * @returns Source keys and destination keys worth hashing.
 */
export function renameCandidates(
  input: OneWayInput,
  split: Match = matchListings(input),
): { src: string[]; dst: string[] } {
  const { orphans } = split;
  // Files whose rename the inode already proves need no hashing.
  const fresh = split.fresh.filter((s) => s.kind === "file" && !inodeOrigin(s, input, split));
  const bySize = new Map<number, Entry[]>();
  for (const o of orphans) {
    if (o.kind !== "file" || o.size === 0 || !reusable(o, input)) continue;
    const list = bySize.get(o.size) ?? [];
    list.push(o);
    bySize.set(o.size, list);
  }
  const src: string[] = [];
  const dst = new Set<string>();
  for (const s of fresh) {
    if (s.kind !== "file") continue;
    const same = bySize.get(s.size);
    if (!same) continue;
    src.push(s.key);
    for (const o of same) dst.add(o.key);
  }
  return { src, dst: [...dst] };
}

/**
 * The two listings matched by name: what {@linkcode oneWayPlanner}'s `wants` returns as its
 * index, and `plan` takes back.
 */
export type Match = ReturnType<typeof matchNow>;

/**
 * Match the two listings by name: pairs, new source entries, orphans. Made afresh on each
 * call (no cache keyed by the input object): the planner makes it in `wants` and is handed it
 * back in `plan`; a caller that asks questions of it before (the one-way pass) makes its own.
 *
 * @param input Listings and options.
 * @returns The match.
 */
export function matchListings(input: OneWayInput): Match {
  return matchNow(input);
}

function matchNow(input: OneWayInput) {
  const fold = input.foldCase;
  const { src, dst } = input;
  const fresh: Entry[] = [];
  const pairSrc: Entry[] = [];
  const pairDst: Entry[] = [];
  // Walks of two alike trees on one kind of file system often list names in the same order:
  // pair that common run directly, and build a map only for what follows it.
  let i = 0;
  const n = Math.min(src.length, dst.length);
  while (i < n && matchKey(src[i]!.key, fold) === matchKey(dst[i]!.key, fold)) {
    pairSrc.push(src[i]!);
    pairDst.push(dst[i]!);
    i++;
  }
  // Unmatched destination entries stay in the map: what is left at the end are the orphans.
  const orphanBy = new Map<string, Entry>();
  for (let j = i; j < dst.length; j++) orphanBy.set(matchKey(dst[j]!.key, fold), dst[j]!);
  for (let j = i; j < src.length; j++) {
    const s = src[j]!;
    const k = matchKey(s.key, fold);
    const d = orphanBy.get(k);
    if (d === undefined) fresh.push(s);
    else {
      pairSrc.push(s);
      pairDst.push(d);
      orphanBy.delete(k);
    }
  }
  const orphans = [...orphanBy.values()];
  let srcKeys: Set<string> | undefined;
  return {
    fresh,
    orphans,
    orphanBy,
    pairSrc,
    pairDst,
    /** Whether the source has this key (built on first use: only renames need it). */
    srcHas(key: string): boolean {
      srcKeys ??= new Set(input.src.map((e) => matchKey(e.key, fold)));
      return srcKeys.has(matchKey(key, fold));
    },
  };
}

/**
 * The orphan a new source file was renamed from, by inode: the prior state had this inode at
 * a path the source no longer has, and the destination still holds that path as it was.
 */
function inodeOrigin(s: Entry, input: OneWayInput, split: Match): Entry | undefined {
  const ik = inodeKey(s);
  const prior = ik ? input.prior?.srcByInode.get(ik) : undefined;
  if (!prior || split.srcHas(prior.path)) return undefined;
  const o = split.orphanBy.get(matchKey(prior.path, input.foldCase));
  if (
    o && o.kind === "file" && o.size === prior.size &&
    Math.abs(o.mtime - prior.mtime) < input.modifyWindow
  ) return o;
  return undefined;
}

/**
 * Folders to make, a step a depth: a parent is made before its children, on any backend, and
 * the folders of one depth at once (111 folders on an FTP server, one by one, took 30 ms).
 *
 * @param mkdirs The mkdir operations, in any order.
 * @returns The steps, shallowest first.
 */
export function mkdirSteps(mkdirs: readonly Op[]): Step[] {
  const byDepth = new Map<number, Op[]>();
  for (const o of mkdirs) {
    const d = keyOf(o).split("/").length;
    const list = byDepth.get(d);
    if (list) list.push(o);
    else byDepth.set(d, [o]);
  }
  return [...byDepth.keys()].sort((x, y) => x - y).map((d) => ({
    name: "mkdir",
    ops: byDepth.get(d)!,
    parallel: true,
  }));
}

/**
 * Plan a one-way sync: make the destination hold what the source holds.
 *
 * The steps, in order: folders to create (shallowest first, one by one), folder moves (one
 * by one: a folder may hold the target of the next), file moves (in parallel), copies and
 * updates (in parallel), then the guarded steps: deletions, folders to remove (deepest first),
 * and late copies that replace a folder by a file or the reverse. A rename runs before any
 * transfer, so an update of a renamed file finds it at its new name.
 *
 * @param input Listings, options and prior state.
 * @returns The plan.
 * @example A new file is copied
 * ```ts
 * import assert from "node:assert/strict";
 * const plan = planOneWay({
 *   src: [{ key: "a.txt", kind: "file", size: 1, mtime: 5 }],
 *   dst: [],
 *   modifyWindow: 1, foldCase: false, checksum: false, delete: false,
 * });
 * assert.deepEqual(plan.steps.map((s) => s.name), ["transfer"]);
 * ```
 */
export function planOneWay(input: OneWayInput): Plan {
  return planMatched(input, matchListings(input));
}

/** {@linkcode planOneWay} of listings already matched. */
function planMatched(input: OneWayInput, match: Match): Plan {
  const { orphans } = match;
  const problems = input.srcProblems ?? [];
  const kept = input.srcKept;
  const protectedKey = (k: string) =>
    (kept?.has(k) ?? false) || problems.some((p) => isWithin(k, p));

  const b = planPairs(input, match);
  const { fileMoves, usedOrphans, stillFresh } = planRenames(input, match, b.transfers);
  const moves = collapseDirMoves(fileMoves, input.dst, input.foldCase);
  const movedDirTargets = moves.filter((m) => m.kind === "dir").map((m) => m.to);
  const movedDirSources = moves.filter((m) => m.kind === "dir").map((m) => m.from);
  const underReplaced = (k: string) =>
    b.replaced.some((r) =>
      matchKey(k, input.foldCase) !== r && isWithin(matchKey(k, input.foldCase), r)
    );

  const conflicted = b.conflicts.map((c) => matchKey(c.key, input.foldCase));
  for (const s of stillFresh) {
    // Below a conflict nothing can be placed until the conflict is resolved.
    if (conflicted.some((c) => isWithin(matchKey(s.key, input.foldCase), c))) continue;
    const isLate = underReplaced(s.key);
    if (s.kind === "dir") {
      if (movedDirTargets.some((t) => isWithin(s.key, t))) continue;
      (isLate ? b.late : b.mkdirs).push({ op: "mkdir", at: DST, key: s.key });
    } else (isLate ? b.late : b.transfers).push(copyOf(s, input));
  }

  if (input.delete) {
    for (const o of orphans) {
      if (usedOrphans.has(o.key) || protectedKey(o.key)) continue;
      if (movedDirSources.some((m) => isWithin(o.key, m))) continue;
      if (o.kind === "file") {
        b.deletes.push({ op: "delete", at: DST, key: o.key, size: o.size, expect: expectOf(o) });
      } else b.rmdirs.push({ op: "rmdir", at: DST, key: o.key });
    }
  }

  const depth = (k: string) => k.split("/").length;
  b.rmdirs.sort((x, y) => depth(keyOf(y)) - depth(keyOf(x)));
  b.late.sort((x, y) => depth(keyOf(x)) - depth(keyOf(y)));
  // Where folders are only key prefixes they come and go with their files.
  const dirs = input.dstDirs !== false;
  const noDirs = (ops: Op[]) => dirs ? ops : ops.filter((o) => o.op !== "mkdir");
  const steps: Step[] = [
    ...(dirs ? mkdirSteps(b.mkdirs) : []),
    { name: "move", ops: moves.filter((m) => m.kind === "dir"), parallel: false },
    { name: "move", ops: moves.filter((m) => m.kind === "file"), parallel: true },
    { name: "transfer", ops: b.transfers, parallel: true },
    { name: "retime", ops: b.retimes, parallel: true },
    { name: "delete", ops: b.deletes, parallel: true, guarded: true },
    { name: "rmdir", ops: dirs ? b.rmdirs : [], parallel: false, guarded: true },
    { name: "late", ops: noDirs(b.late), parallel: false, guarded: true },
  ];
  return {
    steps: steps.filter((s) => s.ops.length > 0),
    conflicts: b.conflicts,
    destFiles: input.dst.filter((e) => e.kind === "file").length,
  };
}

/** The operations of a one-way plan, by the step they will run in. */
interface Buckets {
  mkdirs: Op[];
  transfers: Op[];
  retimes: Op[];
  /** Copies and folders that replace an entry of the other kind: after the deletions. */
  late: Op[];
  deletes: Op[];
  rmdirs: Op[];
  conflicts: Conflict[];
  /** Destination keys (match form) that are replaced by the other kind of entry. */
  replaced: string[];
}

/** The pairs of one name on both sides: updated, retimed, replaced by the other kind, or left. */
function planPairs(input: OneWayInput, match: Match): Buckets {
  const b: Buckets = {
    mkdirs: [],
    transfers: [],
    retimes: [],
    late: [],
    deletes: [],
    rmdirs: [],
    conflicts: [],
    replaced: [],
  };
  const { pairSrc, pairDst } = match;
  for (let i = 0; i < pairSrc.length; i++) {
    const s = pairSrc[i]!;
    const d = pairDst[i]!;
    if (s.kind !== d.kind) {
      if (!input.delete) {
        b.conflicts.push({
          at: DST,
          key: d.key,
          message: `"${d.key}" is a ${d.kind === "dir" ? "folder" : "file"} in the destination ` +
            `but a ${
              s.kind === "dir" ? "folder" : "file"
            } in the source: use --delete to replace it`,
        });
        continue;
      }
      b.replaced.push(matchKey(d.key, input.foldCase));
      if (d.kind === "file") {
        b.deletes.push({ op: "delete", at: DST, key: d.key, size: d.size, expect: expectOf(d) });
        b.late.push({ op: "mkdir", at: DST, key: s.key });
      } else {
        b.rmdirs.push({ op: "rmdir", at: DST, key: d.key });
        b.late.push(copyOf(s, input));
      }
      continue;
    }
    if (s.kind === "dir") continue;
    if (sameFile(s, d, input)) {
      const retime = input.checksum && d.mtimeKind !== "upload" &&
        Math.abs(s.mtime - d.mtime) >= windowOf(s, d, input.modifyWindow);
      // Where the time cannot be set alone, the file is written again (once): otherwise the
      // next run without --checksum would find the times differ, and copy it every time.
      if (retime && !input.dstRetime) {
        b.transfers.push({ ...copyOf(s, input), op: "update", key: d.key, expect: expectOf(d) });
      } else if (retime) {
        b.retimes.push({
          op: "retime",
          at: DST,
          key: d.key,
          srcKey: s.key,
          size: d.size,
          mtime: s.mtime,
          expect: expectOf(d),
        });
      }
      continue;
    }
    b.transfers.push({
      ...copyOf(s, input),
      op: "update",
      key: d.key,
      expect: expectOf(d),
    });
  }
  return b;
}

/**
 * Renames, by inode (state), then by content hash: a new source file moved from an orphan
 * (updated after the move where its content differs). `transfers` receives those updates.
 */
function planRenames(input: OneWayInput, match: Match, transfers: Op[]) {
  const usedOrphans = new Set<string>();
  const orphanByHash = new Map<string, Entry[]>();
  for (const o of match.orphans) {
    const h = o.kind === "file" && reusable(o, input) ? dstHash(input, o) : undefined;
    if (h) {
      const l = orphanByHash.get(h) ?? [];
      l.push(o);
      orphanByHash.set(h, l);
    }
  }
  const fileMoves: Extract<Op, { op: "move" }>[] = [];
  const stillFresh: Entry[] = [];
  for (const s of match.fresh) {
    if (s.kind !== "file") {
      stillFresh.push(s);
      continue;
    }
    let from = inodeOrigin(s, input, match);
    if (from && usedOrphans.has(from.key)) from = undefined;
    const sh = srcHash(input, s);
    if (!from && sh) {
      from = orphanByHash.get(sh)?.find((o) => !usedOrphans.has(o.key) && o.size === s.size);
    }
    if (!from) {
      stillFresh.push(s);
      continue;
    }
    usedOrphans.add(from.key);
    fileMoves.push({
      op: "move",
      at: DST,
      kind: "file",
      from: from.key,
      to: s.key,
      size: s.size,
      files: 1,
    });
    if (!sameFile(s, from, { ...input, checksum: input.checksum && !!sh })) {
      transfers.push({
        ...copyOf(s, input),
        op: "update",
        expect: expectOf(from),
      });
    }
  }
  return { fileMoves, usedOrphans, stillFresh };
}

/** What the executor re-checks before it overwrites or deletes `d`. */
function expectOf(d: Entry): Expect {
  return d.stamp
    ? { size: d.size, mtime: d.mtime, stamp: d.stamp }
    : { size: d.size, mtime: d.mtime };
}

function copyOf(s: Entry, input: OneWayInput): Extract<Op, { op: "copy" }> {
  // One literal with every common field (0: none): the fields stay in the object itself.
  const op: Extract<Op, { op: "copy" }> = {
    op: "copy",
    at: DST,
    key: s.key,
    srcAt: SRC,
    srcKey: s.key,
    size: s.size,
    mtime: s.mtime,
    mode: s.mode ?? 0,
    mtimeNs: s.mtimeNs ?? 0,
  };
  const sha256 = srcHash(input, s);
  if (sha256) op.sha256 = sha256;
  return op;
}

function keyOf(o: Op): string {
  return o.op === "move" ? o.to : o.key;
}

/**
 * Turn many file moves into one folder move where a whole destination folder moved: every
 * file below `from` moves to the same relative place below `to`, and `to` is new.
 *
 * @param moves File moves in one member.
 * @param dst That member's entries.
 * @param foldCase Match names without case.
 * @param at The member (a mirror's moves happen in any member).
 * @param absorbedInto Learns which folder move took each file move in.
 * @returns The folder moves, and the file moves no folder move took in.
 */
export function collapseDirMoves(
  moves: Extract<Op, { op: "move" }>[],
  dst: readonly Entry[],
  foldCase: boolean,
  at: number = DST,
  absorbedInto?: Map<Op, Op>,
): Extract<Op, { op: "move" }>[] {
  if (moves.length === 0) return moves;
  const groups = new Map<string, Extract<Op, { op: "move" }>[]>();
  for (const m of moves) {
    const f = m.from.split("/");
    const t = m.to.split("/");
    // Strip the common tail: what is left is the folder that was renamed.
    while (f.length > 1 && t.length > 1 && f[f.length - 1] === t[t.length - 1]) {
      f.pop();
      t.pop();
    }
    if (f.length === 0 || t.length === 0 || f.length === m.from.split("/").length) continue;
    const key = f.join("/") + "\0" + t.join("/");
    const g = groups.get(key) ?? [];
    g.push(m);
    groups.set(key, g);
  }
  // Files below each destination folder, and every destination key, in match form.
  const filesBelow = new Map<string, number>();
  const taken = new Set<string>();
  for (const e of dst) {
    const k = matchKey(e.key, foldCase);
    taken.add(k);
    if (e.kind !== "file") continue;
    for (let p = parentKey(k); p !== ""; p = parentKey(p)) {
      filesBelow.set(p, (filesBelow.get(p) ?? 0) + 1);
    }
  }
  const out: Extract<Op, { op: "move" }>[] = [];
  const absorbed = new Set<Extract<Op, { op: "move" }>>();
  for (const [key, group] of groups) {
    const [from, to] = key.split("\0") as [string, string];
    if (isWithin(to, from) || isWithin(from, to)) continue;
    const fromM = matchKey(from, foldCase);
    const toM = matchKey(to, foldCase);
    if (taken.has(toM) || filesBelow.get(fromM) !== group.length) continue;
    const dirMove: Extract<Op, { op: "move" }> = {
      op: "move",
      at,
      kind: "dir",
      from,
      to,
      size: group.reduce((n, m) => n + m.size, 0),
      files: group.length,
    };
    out.push(dirMove);
    for (const m of group) {
      absorbed.add(m);
      absorbedInto?.set(m, dirMove);
    }
  }
  for (const m of moves) if (!absorbed.has(m)) out.push(m);
  return out;
}
