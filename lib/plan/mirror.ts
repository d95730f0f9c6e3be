/**
 * Planning a mirror: any number of locations made to agree, each path reconciled against what
 * the job last agreed (Unison's archive, kept in the state). A pure function of the listings,
 * each member's `holds` rows, the `agreed` rows and the hashes it asked for.
 *
 * Per path and member, the current entry against the member's hold row:
 *
 * | current | hold          | status                                   |
 * |---------|---------------|------------------------------------------|
 * | present | same          | in step (hold's version = agreed) or behind |
 * | present | other         | changed                                  |
 * | absent  | present       | deleted (proven: it existed)             |
 * | present | none          | new                                      |
 * | absent  | none          | no information (never a deletion)        |
 *
 * Then: one version among the changed and new (equal changes are one version) spreads; several
 * versions: the newest wins everywhere and every other is kept beside it as a conflict copy; a
 * modification beats a deletion; a deletion spreads only where the member's hold proves the
 * file was the agreed version and nobody changed it. A member that changed or deleted a version
 * older than the agreed one did not see the agreed one: the agreed version competes too.
 *
 * @module
 */
import type { Entry } from "../backends/backend.ts";
import { isWithin, parentKey } from "../paths.ts";
import { collapseDirMoves, mkdirSteps } from "./one_way.ts";
import type { Conflict, Expect, HashRequest, Op, Plan, Planner, Step } from "./types.ts";

/** What a member held of a path when the job last agreed on it (`size` -1: a folder). */
export interface HoldRow {
  size: number;
  mtime: number;
  ino: number;
  dev: number;
  stamp: string | null;
  /** The agreed version this member held (0: one it never agreed on). */
  ver: number;
  /**
   * Recorded within a tick of the file's own time: an edit in that tick keeps size and time, so
   * size and time cannot prove it unchanged (git's "racily clean"); its content is compared.
   */
  racy?: boolean;
}

/** The agreed version of a path; `deleted`: a tombstone kept while a member still holds it. */
export interface AgreedRow {
  ver: number;
  kind: "file" | "dir" | "deleted";
  size: number;
  mtime: number;
}

/** One member as the planner sees it. */
export interface MirrorMember {
  /** Its listing (scoped: only the paths in scope). */
  entries: readonly Entry[];
  /** Its hold rows (scoped likewise). */
  holds: ReadonlyMap<string, HoldRow>;
  /** A short, file-name-safe name for conflict copies made from its versions. */
  label: string;
  /** How messages name it (its location as shown, password masked); else its label. */
  display?: string;
  /** Its id: breaks ties between versions of one time, the same way on every run. */
  id: string;
  /** Keeps folders of its own (local, FTP, ZIP): folders are mirrored there. */
  dirs: boolean;
  /** Renames in place (a rename elsewhere spreads as one here). */
  canMove: boolean;
  /** Its time precision, ms. */
  timePrecision: number;
  /** Keys it could not list: nothing at or below them is judged or touched there. */
  problems: readonly string[];
  /** The SHA-256 its hash cache had for a path as it was held (rename proofs by content). */
  cachedHash?: (path: string) => string | undefined;
  /** Sits this round out (unreachable, missing, emptied): untouched, its holds kept. */
  out?: boolean;
}

/** Inputs of {@linkcode planMirror}. */
export interface MirrorInput {
  members: readonly MirrorMember[];
  agreed: ReadonlyMap<string, AgreedRow>;
  /** Compare by SHA-256, never by size and time alone. */
  checksum: boolean;
  /** Now (ms): a time further ahead than {@linkcode FUTURE_SLACK} counts as now. */
  now: number;
  /** SHA-256 by key, one map per member, as asked for by {@linkcode mirrorPlanner.wants}. */
  hashes?: readonly ReadonlyMap<string, string>[];
}

/** How a member's hold of a path is recorded once the pass is over. */
export type Fate =
  /** It holds the winning version already. */
  | { kind: "holds"; entry: Entry }
  /** An operation brings it there: recorded from the operation's outcome. */
  | {
    kind: "op";
    op: Op;
    /** A losing version kept as a conflict copy by `kept`: when `op` fails, it is behind. */
    kept?: { op: Op; entry: Entry; ver: number };
    /** The entry it will hold after a move (a rename spread). */
    moved?: Entry;
  }
  /** It holds nothing there any more (a deletion agreed, or never had it). */
  | { kind: "none" };

/** What the pass decided for one path: the agreed version after it, and each member's fate. */
export interface Decision {
  path: string;
  kind: "file" | "dir" | "deleted";
  ver: number;
  size: number;
  mtime: number;
  /** By member index; undefined: the member's hold is left as it is. */
  fates: (Fate | undefined)[];
}

/** A mirror's plan: the operations, and what to record of each decided path. */
export interface MirrorPlan extends Plan {
  decisions: Decision[];
  /** Conflicts resolved (newest won, the others kept as copies), by path. */
  resolved: { path: string; message: string }[];
  /** Files each member holds before the pass (for `--max-delete`). */
  filesPerMember: number[];
}

/**
 * A modification time further ahead of now than this is not trusted in a conflict (a machine
 * whose clock runs ahead would otherwise win every one).
 */
export const FUTURE_SLACK = 60_000;

type Status = "in" | "behind" | "changed" | "new" | "deleted" | "none";

interface Side {
  at: number;
  /** In step by size and time, but racily so: the content decides (see {@linkcode HoldRow}). */
  racy?: boolean;
  cur?: Entry;
  hold?: HoldRow;
  status: Status;
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
 * A conflict copy's name that holds nothing else: the name itself when it is free or already
 * holds this version (a rerun after a crash), else `-2`, `-3`… before the extension (two
 * versions from one location within one second).
 */
function freeName(
  name: string,
  version: Entry,
  files: readonly Map<string, Entry>[],
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
function shown(m: MirrorMember): string {
  return m.display ?? m.label;
}

/** Whether a name is a conflict copy ferry made. */
export function isConflictCopy(key: string): boolean {
  return /\.conflict-\d{8}-\d{6}-[^/]*$/.test(key);
}

function holdMatches(e: Entry, h: HoldRow, precision: number): boolean {
  if (h.size < 0 || e.kind !== "file" || e.size !== h.size) return false;
  if (e.stamp && h.stamp) return e.stamp === h.stamp;
  if (e.ino && h.ino && e.ino !== h.ino) return false;
  return Math.abs(e.mtime - h.mtime) < Math.max(1, precision, e.precision ?? 0);
}

/** The sides of one path, one per member taking part (undefined: sitting out or unreadable). */
function sidesOf(
  input: MirrorInput,
  files: readonly Map<string, Entry>[],
  key: string,
): (Side | undefined)[] {
  const a = input.agreed.get(key);
  const sides = input.members.map((m, at): Side | undefined => {
    if (m.out || m.problems.some((p) => p === "" || key === p || isWithin(key, p))) {
      return undefined;
    }
    const cur = files[at]!.get(key);
    const h = m.holds.get(key);
    const hold = h && h.size >= 0 ? h : undefined;
    let status: Status;
    if (cur && hold) {
      status = holdMatches(cur, hold, m.timePrecision)
        ? (a && a.kind !== "deleted" && hold.ver === a.ver ? "in" : "behind")
        : "changed";
    } else if (cur) status = "new";
    else if (hold) status = "deleted";
    else status = "none";
    // A version never agreed on (ferry wrote it while its source was being edited, or it is
    // a loser already kept as a conflict copy) has no other member's content to be compared
    // with: the other members hold other versions, and taking the difference for an edit
    // made a conflict where one location alone was edited.
    const racy = (status === "in" || status === "behind") && hold!.racy && hold!.ver !== 0;
    return {
      at,
      status,
      ...(cur ? { cur } : {}),
      ...(hold ? { hold } : {}),
      ...(racy ? { racy } : {}),
    };
  });
  // A racily clean file whose content differs from a member's that is surely in step changed.
  // Where every member is racy, differing contents mean some changed: all count as changed
  // (the newest wins, the others are kept); equal contents are in step.
  const racy = sides.filter((s): s is Side => !!s?.racy);
  if (racy.length === 0) return sides;
  const witness = sides.find((s) => s?.status === "in" && !s.racy) ??
    racy.find((s) => s.status === "in");
  if (!witness) return sides;
  const theirs = input.hashes?.[witness.at]?.get(key);
  const differs = (s: Side) => {
    const mine = input.hashes?.[s.at]?.get(key);
    return !!mine && !!theirs && mine !== theirs;
  };
  if (witness.racy) {
    if (racy.some(differs)) { for (const s of racy) s.status = "changed"; }
  } else for (const s of racy) if (differs(s)) s.status = "changed";
  return sides;
}

/** Racily clean sides and one to compare them with (surely in step where one is), to hash. */
function racyPairs(input: MirrorInput, files: readonly Map<string, Entry>[], key: string) {
  const sides = sidesOf(input, files, key);
  const racy = sides.filter((s): s is Side => !!s?.racy);
  const witness = sides.find((s) => s?.status === "in" && !s.racy);
  return racy.length > 0 ? (witness ? [witness, ...racy] : racy) : [];
}

function hashOf(input: MirrorInput, s: Side): string | undefined {
  return s.cur!.sha256 ?? input.hashes?.[s.at]?.get(s.cur!.key);
}

/** Whether two present files hold the same content (by hash where asked for or known). */
function sameContent(input: MirrorInput, a: Side, b: Side): boolean {
  if (a.cur!.size !== b.cur!.size) return false;
  const ha = hashOf(input, a);
  const hb = hashOf(input, b);
  if (ha && hb) return ha === hb;
  // Asked for and not had (a read failed): not the same, so that neither is lost.
  if (input.checksum || needsHash(input, a, b)) return false;
  return true;
}

/**
 * Whether two versions of one size need their hashes compared: always, unless their times are
 * the very same to the millisecond (what `cp -p`, or ferry itself, made). Two edits within one
 * tick of a coarse clock (an FTP server's second, a FAT disk's two) look alike by time; taken
 * for one, the other would be overwritten unkept. The crash suite found it twice: between two
 * changed versions, and on a first meeting with no state. So do two times that are the same
 * only as far as a coarse clock tells (two files listed to the second, both at 10:00:01): the
 * same time to the millisecond is only known where both sides keep milliseconds.
 */
function needsHash(input: MirrorInput, a: Side, b: Side): boolean {
  if (a.cur!.size !== b.cur!.size) return false;
  if (input.checksum || a.cur!.mtime !== b.cur!.mtime) return true;
  const coarse = (s: Side) =>
    Math.max(input.members[s.at]!.timePrecision, s.cur!.precision ?? 1) > 1;
  return coarse(a) || coarse(b);
}

/** The versions that compete at a path: the changers, and the agreed one when it was not seen. */
function competitors(input: MirrorInput, sides: readonly (Side | undefined)[], key: string) {
  const present = sides.filter((s): s is Side => !!s);
  const a = input.agreed.get(key);
  const changers = present.filter((s) => s.status === "changed" || s.status === "new");
  const unseen = a?.kind === "file" && present.some((s) =>
    s.status === "new" ||
    ((s.status === "changed" || s.status === "deleted") && s.hold!.ver !== a.ver)
  );
  const ins = unseen ? present.filter((s) => s.status === "in") : [];
  return { present, changers, versions: [...changers, ...ins] };
}

/** Keys of every file of each member, taking part or not, by member. */
function filesByMember(input: MirrorInput): Map<string, Entry>[] {
  let out = filesCache.get(input.members);
  if (!out) {
    out = input.members.map((m) => {
      const byKey = new Map<string, Entry>();
      for (const e of m.entries) if (e.kind === "file") byKey.set(e.key, e);
      return byKey;
    });
    filesCache.set(input.members, out);
  }
  return out;
}

/** `wants` and `plan` see the same members: their files by key are made once. */
const filesCache = new WeakMap<readonly MirrorMember[], Map<string, Entry>[]>();

/**
 * Whether every member taking part holds the agreed version of a path, unchanged and surely so
 * (the common case, decided without building its sides: a no-op of 50,000 files is this).
 */
function inStepEverywhere(
  input: MirrorInput,
  files: readonly Map<string, Entry>[],
  key: string,
): boolean {
  const a = input.agreed.get(key);
  if (!a || a.kind !== "file") return false;
  const ms = input.members;
  for (let at = 0; at < ms.length; at++) {
    const m = ms[at]!;
    if (m.out) continue;
    if (m.problems.length > 0) return false;
    const cur = files[at]!.get(key);
    const h = m.holds.get(key);
    if (!cur || !h || h.racy || h.ver !== a.ver || !holdMatches(cur, h, m.timePrecision)) {
      return false;
    }
  }
  return true;
}

/**
 * The paths of a pass, sorted out once for `wants` and `plan`: those in step everywhere (a
 * no-op is all of them, and nothing more is done for them) and the others; and, among the
 * others, per member, the files it held and no longer has (`gone`) and the files it has and
 * never held (`fresh`): where renames are looked for.
 */
interface PathIndex {
  fast: string[];
  /** Sorted: a clash of a file and a folder is met before the paths below it. */
  slow: string[];
  dirs: string[];
  gone: string[][];
  fresh: string[][];
}

const indexCache = new WeakMap<readonly MirrorMember[], PathIndex>();

function indexOf(input: MirrorInput): PathIndex {
  let out = indexCache.get(input.members);
  if (out) return out;
  const files = filesByMember(input);
  const seen = new Set<string>();
  const fast: string[] = [];
  const slow: string[] = [];
  const dirs = new Set<string>();
  const visit = (k: string) => {
    if (seen.has(k)) return;
    seen.add(k);
    (inStepEverywhere(input, files, k) ? fast : slow).push(k);
  };
  for (const m of input.members) {
    if (m.out) continue;
    for (const e of m.entries) e.kind === "file" ? visit(e.key) : dirs.add(e.key);
    for (const [k, h] of m.holds) h.size >= 0 ? visit(k) : dirs.add(k);
  }
  for (const [k, a] of input.agreed) a.kind === "dir" ? dirs.add(k) : visit(k);
  slow.sort();
  const gone = input.members.map(() => [] as string[]);
  const fresh = input.members.map(() => [] as string[]);
  input.members.forEach((m, at) => {
    if (m.out) return;
    for (const k of slow) {
      const cur = files[at]!.get(k);
      const h = m.holds.get(k);
      if (h && h.size >= 0 && !cur) gone[at]!.push(k);
      else if (cur && !h) fresh[at]!.push(k);
    }
  });
  out = { fast, slow, dirs: [...dirs].sort(), gone, fresh };
  indexCache.set(input.members, out);
  return out;
}

/**
 * The mirror planner: asks for the hashes that tell versions of one size apart and that prove
 * a rename by content, then plans.
 */
export const mirrorPlanner: Planner<MirrorInput, MirrorPlan> = {
  wants(input: MirrorInput): HashRequest[] {
    const want = input.members.map(() => new Set<string>());
    // A racily clean file may hold another version of the size and time the hash cache knows.
    const afresh = input.members.map(() => new Set<string>());
    const files = filesByMember(input);
    const index = indexOf(input);
    for (const key of index.slow) {
      for (const s of racyPairs(input, files, key)) {
        want[s.at]!.add(key);
        if (s.racy) afresh[s.at]!.add(key);
      }
      const sides = sidesOf(input, files, key);
      const { versions } = competitors(input, sides, key);
      for (let i = 0; i < versions.length; i++) {
        for (let j = i + 1; j < versions.length; j++) {
          if (needsHash(input, versions[i]!, versions[j]!)) {
            want[versions[i]!.at]!.add(key);
            want[versions[j]!.at]!.add(key);
          }
        }
      }
    }
    // A new file of the size and time of a deleted one: the same content elsewhere proves a
    // rename (hashed on the member that made it, and on one that holds the old path agreed).
    for (const c of lookalikes(input, files)) {
      want[c.at]!.add(c.to);
      want[c.witness]!.add(c.from);
    }
    // A new file the size of a deleted one whose hash the member's cache has: a rename by content.
    input.members.forEach((m, at) => {
      if (m.out || !m.cachedHash) return;
      const gone = new Set<number>();
      for (const k of index.gone[at]!) {
        const h = m.holds.get(k)!;
        if (h.size > 0 && m.cachedHash(k)) gone.add(h.size);
      }
      if (gone.size === 0) return;
      for (const k of index.fresh[at]!) {
        const e = files[at]!.get(k)!;
        if (gone.has(e.size) && !e.ino) want[at]!.add(k);
      }
    });
    return want.map((w, at) => ({
      at,
      keys: [...w],
      ...(afresh[at]!.size > 0 ? { uncached: [...afresh[at]!] } : {}),
    })).filter((r) => r.keys.length > 0);
  },
  plan(input: MirrorInput, hashes: readonly ReadonlyMap<string, string>[]): MirrorPlan {
    return planMirror({ ...input, hashes });
  },
};

function expectOf(e: Entry): Expect {
  return e.stamp
    ? { size: e.size, mtime: e.mtime, stamp: e.stamp }
    : { size: e.size, mtime: e.mtime };
}

/** Delete what a member holds at a path, as it was listed. */
function deleteOp(s: Side): Op {
  const e = s.cur!;
  return { op: "delete", at: s.at, key: e.key, size: e.size, expect: expectOf(e) };
}

function copyOp(from: Side, at: number, key: string, srcKey = from.cur!.key): Op {
  const e = from.cur!;
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

function updateOp(from: Side, to: Side): Op {
  const e = from.cur!;
  const op: Extract<Op, { op: "update" }> = {
    op: "update",
    at: to.at,
    key: to.cur!.key,
    srcAt: from.at,
    srcKey: e.key,
    size: e.size,
    mtime: e.mtime,
    expect: expectOf(to.cur!),
  };
  if (e.sha256) op.sha256 = e.sha256;
  if (e.mode) op.mode = e.mode;
  if (e.mtimeNs) op.mtimeNs = e.mtimeNs;
  return op;
}

/**
 * Pairs of a deleted file and a new one on one member, with one size and time, neither proven
 * by an inode: a member holding the old path as agreed (`witness`) can prove them one file by
 * content.
 */
function lookalikes(
  input: MirrorInput,
  files: readonly Map<string, Entry>[],
): { at: number; from: string; to: string; witness: number }[] {
  const out: { at: number; from: string; to: string; witness: number }[] = [];
  input.members.forEach((m, at) => {
    if (m.out) return;
    const index = indexOf(input);
    const gone = new Map<number, [string, HoldRow][]>();
    for (const k of index.gone[at]!) {
      const h = m.holds.get(k)!;
      if (h.size <= 0) continue;
      addTo(gone, h.size, [k, h] as [string, HoldRow]);
    }
    if (gone.size === 0) return;
    for (const k of index.fresh[at]!) {
      const e = files[at]!.get(k)!;
      for (const [from, h] of gone.get(e.size) ?? []) {
        if (h.ino && e.ino) continue;
        if (Math.abs(h.mtime - e.mtime) >= Math.max(1, m.timePrecision, e.precision ?? 0)) continue;
        const witness = sidesOf(input, files, from).find((s) => s?.status === "in");
        if (witness) out.push({ at, from, to: k, witness: witness.at });
      }
    }
  });
  return out;
}

/** A rename found on one member, and the members it spreads to as a move. */
interface Rename {
  from: string;
  to: string;
  /** Members that move `from` to `to` in place. */
  movers: number[];
}

/**
 * Renames: on a member, a deleted file and a new one that its hold proves to be the same (the
 * same inode, or the same content by the hash cache). They spread as moves to the members that
 * hold the agreed version at the old path, have nothing at the new one, and can rename.
 */
function findRenames(input: MirrorInput, files: readonly Map<string, Entry>[]): Rename[] {
  const out: Rename[] = [];
  const usedFrom = new Set<string>();
  const usedTo = new Set<string>();
  const byContent = new Map<string, string>();
  for (const c of lookalikes(input, files)) {
    const a = input.hashes?.[c.at]?.get(c.to);
    const b = input.hashes?.[c.witness]?.get(c.from);
    if (a && a === b) byContent.set(`${c.at}\u0000${c.to}`, c.from);
  }
  input.members.forEach((m, at) => {
    if (m.out) return;
    const byIno = new Map<string, string>();
    const byHash = new Map<string, string>();
    const index = indexOf(input);
    for (const k of index.gone[at]!) {
      const h = m.holds.get(k)!;
      if (usedFrom.has(k)) continue;
      if (h.ino) byIno.set(`${h.ino}:${h.dev}`, k);
      const sha = m.cachedHash?.(k);
      if (sha) byHash.set(`${h.size}:${sha}`, k);
    }
    if (byIno.size === 0 && byHash.size === 0 && byContent.size === 0) return;
    for (const k of index.fresh[at]!) {
      const e = files[at]!.get(k)!;
      if (usedTo.has(k)) continue;
      let from = e.ino ? byIno.get(`${e.ino}:${e.dev ?? 0}`) : undefined;
      const sha = e.sha256 ?? input.hashes?.[at]?.get(k);
      if (!from && sha) from = byHash.get(`${e.size}:${sha}`);
      from ??= byContent.get(`${at}\u0000${k}`);
      if (!from || usedFrom.has(from)) continue;
      const h = m.holds.get(from)!;
      if (h.size !== e.size) continue;
      const a = input.agreed.get(from);
      if (!a || a.kind !== "file" || h.ver !== a.ver) continue;
      // Elsewhere, the agreed version sits at the old path and nothing at the new one.
      const movers: number[] = [];
      let clash = false;
      const olds = sidesOf(input, files, from);
      const news = sidesOf(input, files, k);
      input.members.forEach((o, j) => {
        if (j === at || o.out) return;
        const s = olds[j];
        const t = news[j];
        if (!s || !t) return;
        // The same rename made there too: nothing to do.
        if (
          t.status === "new" && s.status === "deleted" && t.cur!.size === e.size &&
          Math.abs(t.cur!.mtime - e.mtime) < Math.max(1, o.timePrecision, m.timePrecision)
        ) return;
        // Edited elsewhere, the old path lives on: no move (the new path is copied instead).
        if (t.status !== "none" || s.status === "changed" || s.status === "new") clash = true;
        else if (s.status === "in" && o.canMove) movers.push(j);
      });
      if (clash || movers.length === 0) continue;
      usedFrom.add(from);
      usedTo.add(k);
      out.push({ from, to: k, movers });
    }
  });
  return out;
}

/**
 * Plan a mirror pass.
 *
 * @param input Listings, holds, agreed rows, options.
 * @returns Steps to run, what to record, the conflicts resolved and those left.
 */
export function planMirror(input: MirrorInput): MirrorPlan {
  const files = filesByMember(input);
  const dirsOf = input.members.map((m) => {
    const out = new Set<string>();
    for (const e of m.entries) if (e.kind === "dir") out.add(e.key);
    return out;
  });
  const mkdirs: Op[] = [];
  const keeps: Op[] = [];
  const moves: Op[] = [];
  const transfers: Op[] = [];
  const replaces: Op[] = [];
  const deletes: Op[] = [];
  const rmdirs: Op[] = [];
  const conflicts: Conflict[] = [];
  const resolved: MirrorPlan["resolved"] = [];
  const decisions: Decision[] = [];
  const n = input.members.length;
  const now = input.now;
  // A time ahead of this machine's clock by more than the slack is not trusted: such a
  // version ranks below every plausible one (it is kept as a conflict copy, never lost).
  const timeOf = (e: Entry) => e.mtime > now + FUTURE_SLACK ? e.mtime - 1e16 : e.mtime;

  // Renames first: a member that moves a file in place needs no copy of it.
  const renames = findRenames(input, files);
  /** Per member, paths it will have moved away from, and moved to (with the entry it gets). */
  const movedAway = input.members.map(() => new Map<string, Op>());
  const movedIn = input.members.map(() => new Map<string, { op: Op; entry: Entry }>());
  const fileMoves: Extract<Op, { op: "move" }>[] = [];
  for (const r of renames) {
    for (const j of r.movers) {
      const cur = files[j]!.get(r.from)!;
      const op: Extract<Op, { op: "move" }> = {
        op: "move",
        at: j,
        kind: "file",
        from: r.from,
        to: r.to,
        size: cur.size,
        files: 1,
      };
      fileMoves.push(op);
      movedAway[j]!.set(r.from, op);
      movedIn[j]!.set(r.to, { op, entry: { ...cur, key: r.to } });
    }
  }
  const absorbedInto = new Map<Op, Op>();
  moves.push(...collapseMoves(fileMoves, input.members.map((m) => m.entries), absorbedInto));
  const moveOf = (op: Op) => absorbedInto.get(op) ?? op;

  /** Files that will exist after the pass, by member: their folders are needed. */
  const willHold = input.members.map(() => new Set<string>());
  const paths = indexOf(input);

  /** Paths that are a file in one member and a folder in another: left alone, with all below. */
  const clashes: string[] = [];
  const belowClash = (key: string) => clashes.some((c) => isWithin(key, c));
  /** Conflict copy names given out this pass. */
  const taken = new Set<string>();
  for (const key of paths.slow) {
    if (belowClash(key)) continue;
    const a = input.agreed.get(key);
    const sides = sidesOf(input, files, key);
    // A member that moves the file here or away agrees already: it is left out of the vote.
    for (const s of sides) {
      if (!s) continue;
      if (movedAway[s.at]!.has(key)) sides[s.at] = undefined;
    }
    const moverFates = new Map<number, Fate>();
    for (let j = 0; j < n; j++) {
      const mi = movedIn[j]!.get(key);
      if (mi) {
        sides[j] = undefined;
        moverFates.set(j, { kind: "op", op: moveOf(mi.op), moved: mi.entry });
        willHold[j]!.add(key);
      }
    }
    for (let j = 0; j < n; j++) {
      const away = movedAway[j]!.get(key);
      if (away) moverFates.set(j, { kind: "op", op: moveOf(away) });
    }
    // A folder at this path in some member: a file and a folder cannot be reconciled.
    const dirAt = input.members.findIndex((m, j) => !m.out && dirsOf[j]!.has(key));
    if (dirAt >= 0 && sides.some((s) => s?.cur)) {
      const fileAt = sides.find((s) => s?.cur)!.at;
      clashes.push(key);
      conflicts.push({
        at: fileAt,
        key,
        message: `is a file in "${shown(input.members[fileAt]!)}" and a folder in "${
          shown(input.members[dirAt]!)
        }": left as it is in both`,
      });
      continue;
    }
    const { present, changers, versions } = competitors(input, sides, key);
    const fates: (Fate | undefined)[] = new Array(n).fill(undefined);
    for (const [j, f] of moverFates) fates[j] = f;
    const baseVer = a?.ver ?? 0;
    const nextVer = baseVer + 1;

    if (versions.length === 0) {
      const deleters = present.filter((s) => s.status === "deleted");
      const current = deleters.filter((s) => a && s.hold!.ver === a.ver && a.kind === "file");
      if (current.length > 0) {
        // A deletion of the agreed version: it spreads where the agreed (or an older, unchanged)
        // version sits; nothing changed there since the hold proves it.
        for (const s of present) {
          if (s.status === "in" || s.status === "behind") {
            const op = deleteOp(s);
            deletes.push(op);
            fates[s.at] = { kind: "op", op };
          } else fates[s.at] = { kind: "none" };
        }
        decisions.push({ path: key, kind: "deleted", ver: nextVer, size: 0, mtime: 0, fates });
        continue;
      }
      if (a?.kind === "deleted") {
        // Agreed deleted: a member behind it that still holds an unchanged copy deletes it.
        let any = false;
        for (const s of present) {
          if (s.status === "behind") {
            const op = deleteOp(s);
            deletes.push(op);
            fates[s.at] = { kind: "op", op };
            any = true;
          } else if (s.status === "deleted") {
            fates[s.at] = { kind: "none" };
            any = true;
          }
        }
        if (any || moverFates.size > 0) {
          decisions.push({ path: key, kind: "deleted", ver: a.ver, size: 0, mtime: 0, fates });
        }
        continue;
      }
      // Nobody changed it: members behind (or without it, or behind deleters) get the agreed
      // version from a member that holds it.
      const holder = present.find((s) => s.status === "in");
      if (!holder || a?.kind !== "file") {
        if (moverFates.size > 0 && a) {
          decisions.push({
            path: key,
            kind: a.kind,
            ver: a.ver,
            size: a.size,
            mtime: a.mtime,
            fates,
          });
        }
        for (const s of present) if (s.cur) willHold[s.at]!.add(key);
        continue;
      }
      let any = moverFates.size > 0;
      for (const s of present) {
        if (s.status === "in") {
          willHold[s.at]!.add(key);
          // Proven in step by content: recorded again, no longer racy.
          if (s.racy && input.hashes?.[s.at]?.has(key)) {
            fates[s.at] = { kind: "holds", entry: s.cur! };
            any = true;
          }
          continue;
        }
        // Behind: it holds an older agreed version (by its hold), never taken for the newer one.
        const op = s.cur ? updateOp(holder, s) : copyOp(holder, s.at, key);
        transfers.push(op);
        fates[s.at] = { kind: "op", op };
        willHold[s.at]!.add(key);
        any = true;
      }
      if (any) {
        // The in-step members keep their rows; the version stays.
        decisions.push({
          path: key,
          kind: "file",
          ver: a.ver,
          size: a.size,
          mtime: a.mtime,
          fates,
        });
      }
      continue;
    }

    // Versions compete: group equal content, the newest group wins.
    const groups: Side[][] = [];
    for (const v of versions) {
      const g = groups.find((g) => sameContent(input, g[0]!, v));
      if (g) g.push(v);
      else groups.push([v]);
    }
    const newest = (g: Side[]) => Math.max(...g.map((s) => timeOf(s.cur!)));
    const firstId = (g: Side[]) => g.map((s) => input.members[s.at]!.id).sort()[0]!;
    groups.sort((x, y) =>
      newest(y) - newest(x) || (firstId(x) < firstId(y) ? -1 : firstId(x) > firstId(y) ? 1 : 0)
    );
    const winners = groups[0]!;
    const source = winners.reduce((b, s) => timeOf(s.cur!) > timeOf(b.cur!) ? s : b);
    const inWinner = new Set(winners.map((s) => s.at));
    // A member that holds the winning content already (an unchanged one equal to it as well).
    for (const s of present) {
      // The winner's group only: a member that kept the agreed version holds an older one
      // (the changers changed it), whatever its size and time say.
      if (inWinner.has(s.at)) {
        fates[s.at] = { kind: "holds", entry: s.cur! };
        willHold[s.at]!.add(key);
      }
    }
    // Each losing version is kept beside it, once per member that has it, and spread.
    const losers = groups.slice(1);
    const copies: string[] = [];
    for (const g of losers) {
      const first = g.reduce((b, s) => timeOf(s.cur!) > timeOf(b.cur!) ? s : b);
      const copyKey = freeName(
        conflictName(key, first.cur!.mtime, input.members[first.at]!.label),
        first.cur!,
        files,
        taken,
      );
      taken.add(copyKey);
      const keptAt = new Map<number, Op>();
      for (const s of g) {
        const keep = copyOp(s, s.at, copyKey);
        keeps.push(keep);
        keptAt.set(s.at, keep);
        willHold[s.at]!.add(copyKey);
        const op = updateOp(source, s);
        replaces.push(op);
        fates[s.at] = {
          kind: "op",
          op,
          kept: { op: keep, entry: s.cur!, ver: s.hold?.ver ?? 0 },
        };
      }
      const copyFates: (Fate | undefined)[] = new Array(n).fill(undefined);
      for (const [at, op] of keptAt) copyFates[at] = { kind: "op", op };
      for (const o of present) {
        if (keptAt.has(o.at) || input.members[o.at]!.out) continue;
        const op = copyOp(first, o.at, copyKey, copyKey);
        replaces.push(op);
        copyFates[o.at] = { kind: "op", op };
        willHold[o.at]!.add(copyKey);
      }
      // The copy is a file of the mirror from now on: its deletion spreads like any other.
      decisions.push({
        path: copyKey,
        kind: "file",
        ver: (input.agreed.get(copyKey)?.ver ?? 0) + 1,
        size: first.cur!.size,
        mtime: first.cur!.mtime,
        fates: copyFates,
      });
      copies.push(copyKey);
    }
    if (copies.length > 0) {
      const where = [...new Set(versions.map((v) => `"${shown(input.members[v.at]!)}"`))];
      resolved.push({
        path: key,
        message: `changed in ${where.join(" and ")}: the newest (from "${
          shown(input.members[source.at]!)
        }") won; kept ${copies.map((c) => `"${c}"`).join(", ")}`,
      });
    }
    // Everyone else gets the winner: unchanged members are overwritten (their version is an
    // agreed one), deleters and members without it get a copy.
    for (const s of present) {
      if (fates[s.at]) continue;
      const op = s.cur ? updateOp(source, s) : copyOp(source, s.at, key);
      transfers.push(op);
      fates[s.at] = { kind: "op", op };
      willHold[s.at]!.add(key);
    }
    decisions.push({
      path: key,
      kind: "file",
      ver: changers.length > 0 || !a || a.kind !== "file" ? nextVer : baseVer,
      size: source.cur!.size,
      mtime: source.cur!.mtime,
      fates,
    });
  }

  // Folders, where members keep them: made where missing, removed where a member removed one
  // that every other member held as agreed and nothing will be put in it.
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
  // The files in step everywhere stay everywhere: their folders are needed by every member.
  const neededByAll = parentsOf(paths.fast);
  const needed = input.members.map((_, j) => parentsOf(willHold[j]!));
  for (const [j, s] of needed.entries()) {
    if (!input.members[j]!.out) { for (const d of neededByAll) s.add(d); }
  }
  const anyNeeds = (d: string) => needed.some((s) => s.has(d));
  const dirMovesAt = input.members.map(() => [] as { from: string; to: string }[]);
  for (const m of moves) {
    if (m.op === "move" && m.kind === "dir") dirMovesAt[m.at]!.push({ from: m.from, to: m.to });
  }
  const allDirs = new Set(paths.dirs);
  for (const s of needed) for (const d of s) allDirs.add(d);
  const sortedDirs = [...allDirs].sort();
  for (const key of sortedDirs) {
    if (belowClash(key)) continue;
    const fates: (Fate | undefined)[] = new Array(n).fill(undefined);
    const takers = input.members.map((m) =>
      !m.out && m.dirs && !m.problems.some((p) => p === "" || key === p || isWithin(key, p))
    );
    if (!takers.some(Boolean)) continue;
    if (input.members.some((_, j) => takers[j] && files[j]!.has(key))) continue; // a clash
    const has = (j: number) =>
      dirsOf[j]!.has(key) ||
      dirMovesAt[j]!.some((m) => key === m.to || isWithin(key, m.to));
    const movedOff = (j: number) =>
      dirMovesAt[j]!.some((m) => key === m.from || isWithin(key, m.from));
    const held = (j: number) => (input.members[j]!.holds.get(key)?.size ?? 0) < 0;
    const removers = input.members.map((_, j) =>
      takers[j] && !dirsOf[j]!.has(key) && held(j) && !movedOff(j)
    );
    const holders = input.members.map((_, j) => takers[j] && has(j));
    const removed = removers.some(Boolean) && !anyNeeds(key) &&
      input.members.every((_, j) => !holders[j] || held(j) || movedOff(j));
    let changed = false;
    for (let j = 0; j < n; j++) {
      if (!takers[j]) continue;
      if (movedOff(j)) {
        fates[j] = { kind: "none" };
        changed = true;
      } else if (removed) {
        if (holders[j]) {
          const op: Op = { op: "rmdir", at: j, key };
          rmdirs.push(op);
          fates[j] = { kind: "op", op };
        } else fates[j] = { kind: "none" };
        changed = true;
      } else if (!has(j)) {
        const op: Op = { op: "mkdir", at: j, key };
        mkdirs.push(op);
        fates[j] = { kind: "op", op };
        changed = true;
      } else {
        fates[j] = { kind: "holds", entry: { key, kind: "dir", size: 0, mtime: 0 } };
        if (!held(j)) changed = true;
      }
    }
    if (!changed) continue;
    decisions.push({
      path: key,
      kind: removed ? "deleted" : "dir",
      ver: (input.agreed.get(key)?.ver ?? 0) + (removed ? 1 : 0),
      size: -1,
      mtime: 0,
      fates,
    });
  }

  const steps: Step[] = mkdirSteps(mkdirs);
  steps.push({ name: "keep", ops: keeps, parallel: true });
  steps.push({ name: "move", ops: moves, parallel: true });
  steps.push({ name: "transfer", ops: transfers, parallel: true });
  // A losing version is overwritten only once every copy of the losers has been made.
  steps.push({ name: "replace", ops: replaces, parallel: true, guarded: true });
  steps.push({ name: "delete", ops: deletes, parallel: true, guarded: true });
  rmdirs.sort((x, y) => (y as { key: string }).key.localeCompare((x as { key: string }).key));
  steps.push({ name: "rmdir", ops: rmdirs, parallel: false, guarded: true });
  return {
    steps: steps.filter((s) => s.ops.length > 0),
    conflicts,
    destFiles: 0,
    decisions,
    resolved,
    filesPerMember: input.members.map((m) => m.entries.filter((e) => e.kind === "file").length),
  };
}

/**
 * Many file moves on one member as one folder move, where a whole folder moved (the one-way
 * planner's rule, member by member).
 */
function collapseMoves(
  moves: Extract<Op, { op: "move" }>[],
  entries: readonly (readonly Entry[])[],
  absorbedInto: Map<Op, Op>,
): Op[] {
  const byMember = new Map<number, Extract<Op, { op: "move" }>[]>();
  for (const m of moves) addTo(byMember, m.at, m);
  return [...byMember].flatMap(([at, list]) =>
    collapseDirMoves(list, entries[at]!, false, at, absorbedInto)
  );
}

/** Add a value to the list a map keeps under a key. */
function addTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
