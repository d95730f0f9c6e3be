/**
 * The mirror planner's second part, **decide**: per path, from what classify found there, one
 * pure {@linkcode Verdict} — the version that wins, each losing version kept as a conflict
 * copy, the deletions the holds prove — and the operations that bring every member there, each
 * named with the step it runs in (emit orders them; Unison's `reconcile` likewise returns items
 * and leaves their order to later).
 *
 * The rules: one version among the changed and new (equal changes are one version) spreads;
 * several versions: the newest wins everywhere and every other is kept beside it as a conflict
 * copy; a modification beats a deletion; a deletion spreads only where the member's hold proves
 * the file was the agreed version and nobody changed it. A member that changed or deleted a
 * version older than the agreed one did not see the agreed one: the agreed version competes too.
 *
 * @module
 */
import type { Entry } from "../backends/backend.ts";
import { isWithin, parentKey } from "../paths.ts";
import type { Decision, Fate, MirrorInput, MirrorMember } from "./mirror.ts";
import {
  type Competitors,
  competitors,
  type MemberMoves,
  type MirrorIndex,
  type PathFacts,
  type Present,
  sameContent,
  type Side,
  unreadVersion,
} from "./mirror_classify.ts";
import type { Conflict, Expect, Op } from "./types.ts";

/**
 * A modification time further ahead of now than this is not trusted in a conflict (a machine
 * whose clock runs ahead would otherwise win every one).
 */
export const FUTURE_SLACK = 60_000;

/** The steps of a mirror's plan, in the order they run. */
export type StepName = "mkdir" | "keep" | "move" | "transfer" | "replace" | "delete" | "rmdir";

/**
 * What decide concluded at one path. Its invariants: every operation is in the fate of the
 * member it acts on, in one of `decisions` (a losing version's copy, `keep`, is in the loser's
 * fate as `kept` and in its copy's decision); a member whose fate is left undefined keeps its
 * hold as it is; nothing is deleted at a member whose side is not `in` or `behind`.
 */
export interface Verdict {
  /**
   * One per conflict copy made, then the path's own decision; none: nothing to record (every
   * member in step, or a clash).
   */
  decisions: Decision[];
  /** The operations, each with the step it runs in, in the order made. */
  ops: { step: StepName; op: Op }[];
  /** Files members will hold after the pass, as `[member, key]`: their folders are needed. */
  holds: [number, string][];
  /** Versions competed and the losers were kept: the message for the user. */
  resolved?: { path: string; message: string };
  /** A file here in one member, a folder in another: nothing at or below it is touched. */
  conflict?: Conflict;
}

/** What decide needs besides a path's facts. */
export interface DecideContext {
  /** The members, agreed rows, options and hashes. */
  input: MirrorInput;
  /** A free name for a losing version's conflict copy; given once, it is taken. */
  copyName(name: string, version: Entry): string;
}

/**
 * The name a losing version is kept under, beside the winner:
 * `name.conflict-<YYYYMMDD-HHMMSS>-<label>.ext`, with the loser's own modification time (UTC),
 * so that a rerun after a crash names the same copy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(
 *   conflictName("docs/report.final.txt", Date.UTC(2026, 10, 26, 9, 5, 7), "laptop"),
 *   "docs/report.final.conflict-20261126-090507-laptop.txt",
 * );
 * ```
 *
 * @param key The path.
 * @param mtime The losing version's modification time, ms.
 * @param label The location it came from.
 * @returns The conflict copy's path.
 */
export function conflictName(key: string, mtime: number, label: string): string {
  const slash = key.lastIndexOf("/");
  const dir = key.slice(0, slash + 1);
  const base = key.slice(slash + 1);
  const dot = base.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ""];
  const d = new Date(Number.isFinite(mtime) ? mtime : 0);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stampText = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  return `${dir}${stem}.conflict-${stampText}-${label}${ext}`;
}

/**
 * Whether a name is a conflict copy ferry made.
 *
 * @param key The path.
 * @returns True for `name.conflict-<YYYYMMDD-HHMMSS>-<label>…`.
 */
export function isConflictCopy(key: string): boolean {
  return /\.conflict-\d{8}-\d{6}-[^/]*$/.test(key);
}

/**
 * A conflict copy's name that holds nothing else: the name itself when it is free or already
 * holds this version (a rerun after a crash), else `-2`, `-3`… before the extension (two
 * versions from one location within one second).
 *
 * @param name The name {@linkcode conflictName} gave.
 * @param version The losing version.
 * @param files Every member's files by key.
 * @param taken Names given out this pass.
 * @returns A free name.
 */
export function freeName(
  name: string,
  version: Entry,
  files: readonly ReadonlyMap<string, Entry>[],
  taken: ReadonlySet<string>,
): string {
  const dot = name.lastIndexOf(".");
  const slash = name.lastIndexOf("/");
  const [stem, ext] = dot > slash + 1 && !name.slice(dot).includes("conflict-")
    ? [name.slice(0, dot), name.slice(dot)]
    : [name, ""];
  for (let i = 1; i < 1000; i++) {
    const candidate = i === 1 ? name : `${stem}-${i}${ext}`;
    if (taken.has(candidate)) continue;
    const clash = files.some((f) => {
      const e = f.get(candidate);
      return e && !(e.size === version.size && e.mtime === version.mtime);
    });
    if (!clash) return candidate;
  }
  return `${stem}-${crypto.randomUUID().slice(0, 8)}${ext}`;
}

/** A member as messages name it. */
function shown(m: MirrorMember | undefined): string {
  return m?.display ?? m?.label ?? "?";
}

/**
 * Decide one path that is not in step everywhere.
 *
 * @param f What classify found there.
 * @param ctx The members, options, hashes, and where conflict copies get their names.
 * @returns The verdict.
 */
export function decide(f: PathFacts, ctx: DecideContext): Verdict {
  const v: Verdict = { decisions: [], ops: [], holds: [] };
  for (const [j, fate] of f.movers) if (fate.kind === "op" && fate.moved) v.holds.push([j, f.key]);
  if (f.clash) {
    const ms = ctx.input.members;
    v.conflict = {
      at: f.clash.fileAt,
      key: f.key,
      message: `is a file in "${shown(ms[f.clash.fileAt])}" and a folder in "${
        shown(ms[f.clash.dirAt])
      }": left as it is in both`,
    };
    return v;
  }
  const fates: (Fate | undefined)[] = new Array(ctx.input.members.length).fill(undefined);
  for (const [j, fate] of f.movers) fates[j] = fate;
  const c = competitors(f.sides, f.agreed);
  // Versions that could not be compared (a read failed: a network fault) are left as they are
  // everywhere, and the path counts as failed: a conflict copy made of a version that may well
  // be the same content would be noise the user has to clear, and the next pass can tell.
  const unread = unreadVersion(ctx.input, c.versions);
  if (unread) {
    v.conflict = {
      at: unread.at,
      key: f.key,
      message: `could not be read in "${
        shown(ctx.input.members[unread.at])
      }" to compare it with the other versions: left as it is everywhere until a pass can`,
    };
    return v;
  }
  return c.versions.length > 0 ? compete(f, c, fates, ctx, v) : settle(f, c.present, fates, ctx, v);
}

/**
 * Nobody made a new version: a deletion of the agreed version spreads, a tombstone reaches the
 * members behind it, and members behind (or without the file) get the agreed version.
 */
function settle(
  f: PathFacts,
  present: readonly Side[],
  fates: (Fate | undefined)[],
  ctx: DecideContext,
  v: Verdict,
): Verdict {
  const { key, agreed: a } = f;
  const moved = f.movers.size > 0;
  if (a?.kind === "file" && present.some((s) => s.status === "deleted" && s.hold.ver === a.ver)) {
    // A deletion of the agreed version: it spreads where the agreed (or an older, unchanged)
    // version sits; nothing changed there since the hold proves it.
    for (const s of present) {
      if (s.status === "in" || s.status === "behind") {
        const op = deleteOp(s);
        v.ops.push({ step: "delete", op });
        fates[s.at] = { kind: "op", op };
      } else fates[s.at] = { kind: "none" };
    }
    v.decisions.push({ path: key, kind: "deleted", ver: a.ver + 1, size: 0, mtime: 0, fates });
    return v;
  }
  if (a?.kind === "deleted") {
    // Agreed deleted: a member behind it that still holds an unchanged copy deletes it.
    let any = false;
    for (const s of present) {
      if (s.status === "behind") {
        const op = deleteOp(s);
        v.ops.push({ step: "delete", op });
        fates[s.at] = { kind: "op", op };
        any = true;
      } else if (s.status === "deleted") {
        fates[s.at] = { kind: "none" };
        any = true;
      }
    }
    if (any || moved) {
      v.decisions.push({ path: key, kind: "deleted", ver: a.ver, size: 0, mtime: 0, fates });
    }
    return v;
  }
  // Nobody changed it: members behind (or without it, or behind deleters) get the agreed
  // version from a member that holds it.
  const holder = present.find((s): s is Present => s.status === "in");
  if (!holder || a?.kind !== "file") {
    if (moved && a) {
      v.decisions.push({
        path: key,
        kind: a.kind,
        ver: a.ver,
        size: a.size,
        mtime: a.mtime,
        fates,
      });
    }
    for (const s of present) if (s.cur) v.holds.push([s.at, key]);
    return v;
  }
  let any = moved;
  for (const s of present) {
    if (s.status === "in") {
      v.holds.push([s.at, key]);
      // Proven in step by content: recorded again, no longer racy.
      if (s.racy && ctx.input.hashes?.[s.at]?.has(key)) {
        fates[s.at] = { kind: "holds", entry: s.cur };
        any = true;
      }
      continue;
    }
    // Behind: it holds an older agreed version (by its hold), never taken for the newer one.
    const op = s.cur ? updateOp(holder, s) : copyOp(holder, s.at, key);
    v.ops.push({ step: "transfer", op });
    fates[s.at] = { kind: "op", op };
    v.holds.push([s.at, key]);
    any = true;
  }
  if (any) {
    // The in-step members keep their rows; the version stays.
    v.decisions.push({ path: key, kind: "file", ver: a.ver, size: a.size, mtime: a.mtime, fates });
  }
  return v;
}

/** Versions compete: equal content is one version, the newest wins, every other is kept. */
function compete(
  f: PathFacts,
  c: Competitors,
  fates: (Fate | undefined)[],
  ctx: DecideContext,
  v: Verdict,
): Verdict {
  const { input } = ctx;
  const { key, agreed: a } = f;
  // A time ahead of this machine's clock by more than the slack is not trusted: such a
  // version ranks below every plausible one (it is kept as a conflict copy, never lost).
  const timeOf = (e: Entry) => e.mtime > input.now + FUTURE_SLACK ? e.mtime - 1e16 : e.mtime;
  const latest = (g: Present[]) => g.reduce((b, s) => timeOf(s.cur) > timeOf(b.cur) ? s : b);
  const groups: Present[][] = [];
  for (const s of c.versions) {
    const g = groups.find((g) => sameContent(input, g[0]!, s));
    if (g) g.push(s);
    else groups.push([s]);
  }
  const newest = (g: Present[]) => Math.max(...g.map((s) => timeOf(s.cur)));
  const firstId = (g: Present[]) => g.map((s) => input.members[s.at]!.id).sort()[0]!;
  groups.sort((x, y) =>
    newest(y) - newest(x) || (firstId(x) < firstId(y) ? -1 : firstId(x) > firstId(y) ? 1 : 0)
  );
  const [winners, ...losers] = groups as [Present[], ...Present[][]];
  const source = latest(winners);
  // The winner's group holds the winning content already. Only it: a member that kept the
  // agreed version holds an older one (the changers changed it), whatever its size and time say.
  for (const s of winners) {
    fates[s.at] = { kind: "holds", entry: s.cur };
    v.holds.push([s.at, key]);
  }
  // Each losing version is kept beside it, once per member that has it, and spread.
  const copies = losers.map((g) => keepLoser(key, g, latest(g), source, c.present, fates, ctx, v));
  if (copies.length > 0) {
    const where = [...new Set(c.versions.map((s) => `"${shown(input.members[s.at])}"`))];
    v.resolved = {
      path: key,
      message: `changed in ${where.join(" and ")}: the newest (from "${
        shown(input.members[source.at])
      }") won; kept ${copies.map((c) => `"${c}"`).join(", ")}`,
    };
  }
  // Everyone else gets the winner: unchanged members are overwritten (their version is an
  // agreed one), deleters and members without it get a copy.
  for (const s of c.present) {
    if (fates[s.at]) continue;
    const op = s.cur ? updateOp(source, s) : copyOp(source, s.at, key);
    v.ops.push({ step: "transfer", op });
    fates[s.at] = { kind: "op", op };
    v.holds.push([s.at, key]);
  }
  const ver = a?.ver ?? 0;
  v.decisions.push({
    path: key,
    kind: "file",
    ver: c.changers.length > 0 || !a || a.kind !== "file" ? ver + 1 : ver,
    size: source.cur.size,
    mtime: source.cur.mtime,
    fates,
  });
  return v;
}

/**
 * Keep one losing version (group `g`, its newest side `first`) as a conflict copy: made from
 * the loser on each member that has it (before the winner replaces it there), copied to every
 * other member. The copy is a file of the mirror from now on: its deletion spreads like any.
 *
 * @returns The copy's path.
 */
function keepLoser(
  key: string,
  g: readonly Present[],
  first: Present,
  source: Present,
  present: readonly Side[],
  fates: (Fate | undefined)[],
  ctx: DecideContext,
  v: Verdict,
): string {
  const { input } = ctx;
  const label = input.members[first.at]!.label;
  const copyKey = ctx.copyName(conflictName(key, first.cur.mtime, label), first.cur);
  const copyFates: (Fate | undefined)[] = new Array(input.members.length).fill(undefined);
  for (const s of g) {
    const keep = copyOp(s, s.at, copyKey);
    v.ops.push({ step: "keep", op: keep });
    copyFates[s.at] = { kind: "op", op: keep };
    v.holds.push([s.at, copyKey]);
    const op = updateOp(source, s);
    v.ops.push({ step: "replace", op });
    fates[s.at] = { kind: "op", op, kept: { op: keep, entry: s.cur, ver: s.hold?.ver ?? 0 } };
  }
  for (const o of present) {
    if (copyFates[o.at] || input.members[o.at]!.out) continue;
    const op = copyOp(first, o.at, copyKey, copyKey);
    v.ops.push({ step: "replace", op });
    copyFates[o.at] = { kind: "op", op };
    v.holds.push([o.at, copyKey]);
  }
  v.decisions.push({
    path: copyKey,
    kind: "file",
    ver: (input.agreed.get(copyKey)?.ver ?? 0) + 1,
    size: first.cur.size,
    mtime: first.cur.mtime,
    fates: copyFates,
  });
  return copyKey;
}

/** What the folder decisions need: the pass's index, each member's moves and needed folders. */
export interface FolderFacts {
  input: MirrorInput;
  index: MirrorIndex;
  moved: readonly MemberMoves[];
  /** By member: the folders its files need after the pass. */
  needed: readonly Set<string>[];
}

/**
 * The folders each member's files need after the pass: those of the files it will hold, and,
 * for a member taking part, those of the files in step everywhere (they stay everywhere).
 *
 * @param input The members.
 * @param index The pass's index.
 * @param willHold By member, the files it will hold that decide named.
 * @returns By member, the folders needed.
 */
export function neededFolders(
  input: MirrorInput,
  index: MirrorIndex,
  willHold: readonly Set<string>[],
): Set<string>[] {
  const parentsOf = (keys: Iterable<string>) => {
    const out = new Set<string>();
    for (const k of keys) {
      for (let p = parentKey(k); p !== ""; p = parentKey(p)) {
        if (out.has(p)) break;
        out.add(p);
      }
    }
    return out;
  };
  const neededByAll = parentsOf(index.fast);
  const needed = willHold.map((w) => parentsOf(w));
  for (const [j, s] of needed.entries()) {
    if (!input.members[j]!.out) { for (const d of neededByAll) s.add(d); }
  }
  return needed;
}

/**
 * Decide one folder, where members keep folders: made where missing, removed where a member
 * removed one that every other member held as agreed and nothing will be put in it.
 *
 * @param key The folder.
 * @param ff The pass's index, moves and needed folders.
 * @returns The verdict (no decision: nothing to record).
 */
export function decideFolder(key: string, ff: FolderFacts): Verdict {
  const { input, index, moved, needed } = ff;
  const v: Verdict = { decisions: [], ops: [], holds: [] };
  const ms = input.members;
  const takers = ms.map((m) =>
    !m.out && m.dirs && !m.problems.some((p) => p === "" || key === p || isWithin(key, p))
  );
  if (!takers.some(Boolean)) return v;
  if (ms.some((_, j) => takers[j] && index.members[j]!.files.has(key))) return v; // a clash
  const listed = (j: number) => index.members[j]!.dirs.has(key);
  const has = (j: number) =>
    listed(j) || moved[j]!.dirs.some((m) => key === m.to || isWithin(key, m.to));
  const movedOff = (j: number) =>
    moved[j]!.dirs.some((m) => key === m.from || isWithin(key, m.from));
  const held = (j: number) => (ms[j]!.holds.get(key)?.size ?? 0) < 0;
  const removers = ms.map((_, j) => takers[j] && !listed(j) && held(j) && !movedOff(j));
  const holders = ms.map((_, j) => takers[j] && has(j));
  const removed = removers.some(Boolean) && !needed.some((s) => s.has(key)) &&
    ms.every((_, j) => !holders[j] || held(j) || movedOff(j));
  const fates: (Fate | undefined)[] = new Array(ms.length).fill(undefined);
  let changed = false;
  for (let j = 0; j < ms.length; j++) {
    if (!takers[j]) continue;
    if (movedOff(j)) {
      fates[j] = { kind: "none" };
      changed = true;
    } else if (removed) {
      if (holders[j]) {
        const op: Op = { op: "rmdir", at: j, key };
        v.ops.push({ step: "rmdir", op });
        fates[j] = { kind: "op", op };
      } else fates[j] = { kind: "none" };
      changed = true;
    } else if (!has(j)) {
      const op: Op = { op: "mkdir", at: j, key };
      v.ops.push({ step: "mkdir", op });
      fates[j] = { kind: "op", op };
      changed = true;
    } else {
      fates[j] = { kind: "holds", entry: { key, kind: "dir", size: 0, mtime: 0 } };
      if (!held(j)) changed = true;
    }
  }
  if (!changed) return v;
  v.decisions.push({
    path: key,
    kind: removed ? "deleted" : "dir",
    ver: (input.agreed.get(key)?.ver ?? 0) + (removed ? 1 : 0),
    size: -1,
    mtime: 0,
    fates,
  });
  return v;
}

function expectOf(e: Entry): Expect {
  return e.stamp
    ? { size: e.size, mtime: e.mtime, stamp: e.stamp }
    : { size: e.size, mtime: e.mtime };
}

/** Delete what a member holds at a path, as it was listed. */
function deleteOp(s: Present): Op {
  const e = s.cur;
  return { op: "delete", at: s.at, key: e.key, size: e.size, expect: expectOf(e) };
}

function copyOp(from: Present, at: number, key: string, srcKey = from.cur.key): Op {
  const e = from.cur;
  const op: Extract<Op, { op: "copy" }> = {
    op: "copy",
    at,
    key,
    srcAt: from.at,
    srcKey,
    size: e.size,
    mtime: e.mtime,
  };
  if (e.sha256) op.sha256 = e.sha256;
  if (e.mode) op.mode = e.mode;
  if (e.mtimeNs) op.mtimeNs = e.mtimeNs;
  return op;
}

function updateOp(from: Present, to: Present): Op {
  const e = from.cur;
  const op: Extract<Op, { op: "update" }> = {
    op: "update",
    at: to.at,
    key: to.cur.key,
    srcAt: from.at,
    srcKey: e.key,
    size: e.size,
    mtime: e.mtime,
    expect: expectOf(to.cur),
  };
  if (e.sha256) op.sha256 = e.sha256;
  if (e.mode) op.mode = e.mode;
  if (e.mtimeNs) op.mtimeNs = e.mtimeNs;
  return op;
}
