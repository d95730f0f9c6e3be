/**
 * The mirror planner's first part, **classify**: the paths sorted out once (those in step
 * everywhere set apart: a no-op of 50,000 files is only that), each member's renames found,
 * and, per path and member, what the member did since the job last agreed: its status
 * against its hold row (see {@linkcode Status}) and the versions that compete.
 *
 * @module
 */
import type { Entry } from "../backends/backend.ts";
import { isWithin } from "../paths.ts";
import type { AgreedRow, HoldRow } from "../state/mirror_state.ts";
import type { Fate, MirrorInput } from "./mirror.ts";
import { collapseDirMoves } from "./one_way.ts";
import type { HashRequest, Op } from "./types.ts";

/**
 * A member's part in a path, its current entry against its hold row:
 *
 * | current | hold          | status                                          |
 * |---------|---------------|-------------------------------------------------|
 * | present | same          | `in` (the hold's version is the agreed one), else `behind` |
 * | present | other         | `changed`                                       |
 * | absent  | present       | `deleted` (proven: it existed)                  |
 * | present | none          | `new`                                           |
 * | absent  | none          | `none`: no information (never a deletion)       |
 */
export type Status = "in" | "behind" | "changed" | "new" | "deleted" | "none";

/**
 * One member's side of a path. `cur` is there exactly when the member has the file now, `hold`
 * exactly when it held one (a folder's hold is no file's).
 */
export type Side =
  | {
    at: number;
    status: "in" | "behind" | "changed";
    cur: Entry;
    hold: HoldRow;
    /** In step by size and time, but racily so: the content decides (see {@linkcode HoldRow}). */
    racy?: boolean;
  }
  | { at: number; status: "new"; cur: Entry; hold?: undefined; racy?: undefined }
  | { at: number; status: "deleted"; cur?: undefined; hold: HoldRow; racy?: undefined }
  | { at: number; status: "none"; cur?: undefined; hold?: undefined; racy?: undefined };

/** A side whose member has the file now. */
export type Present = Extract<Side, { cur: Entry }>;

/** One member's listing, sorted out once per pass. */
export interface MemberIndex {
  /** Its files by key (taking part or not). */
  files: Map<string, Entry>;
  /** Its folders' keys. */
  dirs: Set<string>;
  /** Among the paths not in step everywhere, files it held and no longer has: renamed from? */
  gone: string[];
  /** Among those, files it has and never held: renamed to? */
  fresh: string[];
}

/**
 * The paths of a pass, sorted out once: what the mirror planner's `wants` returns and `plan`
 * takes back.
 */
export interface MirrorIndex {
  /** By member index. */
  members: MemberIndex[];
  /** Files in step everywhere: nothing more is done for them (a no-op is all of them). */
  fast: string[];
  /** The other files, sorted: a clash of a file and a folder is met before the paths below it. */
  slow: string[];
  /** Every folder listed, held or agreed, sorted. */
  dirs: string[];
}

function holdMatches(e: Entry, h: HoldRow, precision: number): boolean {
  if (h.size < 0 || e.kind !== "file" || e.size !== h.size) return false;
  if (e.stamp && h.stamp) return e.stamp === h.stamp;
  if (e.ino && h.ino && e.ino !== h.ino) return false;
  return Math.abs(e.mtime - h.mtime) < Math.max(1, precision, e.precision ?? 0);
}

/**
 * Whether every member taking part holds the agreed version of a path, unchanged and surely so
 * (the common case, decided without building its sides).
 */
function inStepEverywhere(input: MirrorInput, index: MemberIndex[], key: string): boolean {
  const a = input.agreed.get(key);
  if (!a || a.kind !== "file") return false;
  const ms = input.members;
  for (let at = 0; at < ms.length; at++) {
    const m = ms[at]!;
    if (m.out) continue;
    if (m.problems.length > 0) return false;
    const cur = index[at]!.files.get(key);
    const h = m.holds.get(key);
    if (!cur || !h || h.racy || h.ver !== a.ver || !holdMatches(cur, h, m.timePrecision)) {
      return false;
    }
  }
  return true;
}

/**
 * Sort out the paths of a pass.
 *
 * @param input Listings, holds, agreed rows.
 * @returns The index.
 */
export function indexMirror(input: MirrorInput): MirrorIndex {
  const members = input.members.map((m): MemberIndex => {
    const files = new Map<string, Entry>();
    const dirs = new Set<string>();
    for (const e of m.entries) e.kind === "file" ? files.set(e.key, e) : dirs.add(e.key);
    return { files, dirs, gone: [], fresh: [] };
  });
  const seen = new Set<string>();
  const fast: string[] = [];
  const slow: string[] = [];
  const dirs = new Set<string>();
  const visit = (k: string) => {
    if (seen.has(k)) return;
    seen.add(k);
    (inStepEverywhere(input, members, k) ? fast : slow).push(k);
  };
  for (const m of input.members) {
    if (m.out) continue;
    for (const e of m.entries) e.kind === "file" ? visit(e.key) : dirs.add(e.key);
    for (const [k, h] of m.holds) h.size >= 0 ? visit(k) : dirs.add(k);
  }
  for (const [k, a] of input.agreed) a.kind === "dir" ? dirs.add(k) : visit(k);
  slow.sort();
  input.members.forEach((m, at) => {
    if (m.out) return;
    const mi = members[at]!;
    for (const k of slow) {
      const cur = mi.files.get(k);
      const h = m.holds.get(k);
      if (h && h.size >= 0 && !cur) mi.gone.push(k);
      else if (cur && !h) mi.fresh.push(k);
    }
  });
  return { members, fast, slow, dirs: [...dirs].sort() };
}

function sideOf(
  at: number,
  cur: Entry | undefined,
  h: HoldRow | undefined,
  a: AgreedRow | undefined,
  precision: number,
): Side {
  const hold = h && h.size >= 0 ? h : undefined;
  if (cur && hold) {
    const status = !holdMatches(cur, hold, precision)
      ? "changed"
      : a && a.kind !== "deleted" && hold.ver === a.ver
      ? "in"
      : "behind";
    // A version never agreed on (ferry wrote it while its source was being edited, or it is
    // a loser already kept as a conflict copy) has no other member's content to be compared
    // with: the other members hold other versions, and taking the difference for an edit
    // made a conflict where one location alone was edited.
    const racy = status !== "changed" && hold.racy && hold.ver !== 0;
    return racy ? { at, status, cur, hold, racy } : { at, status, cur, hold };
  }
  if (cur) return { at, status: "new", cur };
  if (hold) return { at, status: "deleted", hold };
  return { at, status: "none" };
}

/**
 * The sides of one path, one per member taking part (undefined: sitting out or unreadable).
 *
 * @param input Listings, holds, agreed rows, and the hashes had so far.
 * @param index The pass's index.
 * @param key The path.
 * @returns The sides, by member index.
 */
function sidesOf(
  input: MirrorInput,
  index: MirrorIndex,
  key: string,
): (Side | undefined)[] {
  const a = input.agreed.get(key);
  const sides = input.members.map((m, at): Side | undefined => {
    if (m.out || m.problems.some((p) => p === "" || key === p || isWithin(key, p))) {
      return undefined;
    }
    return sideOf(at, index.members[at]!.files.get(key), m.holds.get(key), a, m.timePrecision);
  });
  // A racily clean file whose content differs from a member's that is surely in step changed.
  // Where every member is racy, differing contents mean some changed: all count as changed
  // (the newest wins, the others are kept); equal contents are in step.
  const racy = sides.filter((s) => !!s?.racy) as Extract<Side, { racy?: boolean }>[];
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
function racyPairs(sides: readonly (Side | undefined)[]): Side[] {
  const racy = sides.filter((s): s is Side => !!s?.racy);
  const witness = sides.find((s) => s?.status === "in" && !s.racy);
  return racy.length > 0 ? (witness ? [witness, ...racy] : racy) : [];
}

function hashOf(input: MirrorInput, s: Present): string | undefined {
  return s.cur.sha256 ?? input.hashes?.[s.at]?.get(s.cur.key);
}

/**
 * Whether two present files hold the same content (by hash where asked for or known).
 *
 * @param input The options, members and hashes.
 * @param a One version.
 * @param b Another.
 * @returns Whether they are one version.
 */
export function sameContent(input: MirrorInput, a: Present, b: Present): boolean {
  if (a.cur.size !== b.cur.size) return false;
  const ha = hashOf(input, a);
  const hb = hashOf(input, b);
  if (ha && hb) return ha === hb;
  // Where the hashes were needed and one is missing (a read failed), decide() has left the
  // path alone before comparing (unreadVersion); taken as different, neither would be lost.
  return !needsHash(input, a, b);
}

/**
 * A version that could not be told apart from another: their hashes were needed (same size,
 * times that do not prove them one) and one of them could not be read this pass.
 *
 * @param input The options, members and hashes.
 * @param versions The versions that compete at a path.
 * @returns One whose hash is missing, or undefined when every comparison can be made.
 */
export function unreadVersion(
  input: MirrorInput,
  versions: readonly Present[],
): Present | undefined {
  for (let i = 0; i < versions.length; i++) {
    for (let j = i + 1; j < versions.length; j++) {
      const a = versions[i]!;
      const b = versions[j]!;
      if (!needsHash(input, a, b)) continue;
      if (!hashOf(input, a)) return a;
      if (!hashOf(input, b)) return b;
    }
  }
  return undefined;
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
function needsHash(input: MirrorInput, a: Present, b: Present): boolean {
  if (a.cur.size !== b.cur.size) return false;
  if (input.checksum || a.cur.mtime !== b.cur.mtime) return true;
  const coarse = (s: Present) =>
    Math.max(input.members[s.at]!.timePrecision, s.cur.precision ?? 1) > 1;
  return coarse(a) || coarse(b);
}

/** The sides of a path that take part, and the versions that compete there. */
export interface Competitors {
  /** Every member taking part. */
  present: Side[];
  /** Those that changed the file or made it. */
  changers: Present[];
  /** The changers, and the members in step where the agreed version was not seen by all. */
  versions: Present[];
}

/**
 * The versions that compete at a path: the changers, and the agreed one when it was not seen.
 *
 * @param sides The path's sides.
 * @param a Its agreed row.
 * @returns Who takes part, and what competes.
 */
export function competitors(
  sides: readonly (Side | undefined)[],
  a: AgreedRow | undefined,
): Competitors {
  const present = sides.filter((s): s is Side => !!s);
  const changers = present.filter((s): s is Present =>
    s.status === "changed" || s.status === "new"
  );
  const unseen = a?.kind === "file" && present.some((s) =>
    s.status === "new" ||
    ((s.status === "changed" || s.status === "deleted") && s.hold.ver !== a.ver)
  );
  const ins = unseen ? present.filter((s): s is Present => s.status === "in") : [];
  return { present, changers, versions: [...changers, ...ins] };
}

/**
 * The hashes a pass needs before it can plan: those that tell versions of one size apart, that
 * settle racily clean files, and that prove a rename by content.
 *
 * @param input Listings, holds, agreed rows, options.
 * @param index The pass's index.
 * @returns What to hash, per member.
 */
export function hashRequests(input: MirrorInput, index: MirrorIndex): HashRequest[] {
  // Per member: what to hash, and those of them to read anew (a racily clean file may hold
  // another version of the size and time the hash cache knows).
  const asks = input.members.map(() => ({ keys: new Set<string>(), uncached: new Set<string>() }));
  const ask = (at: number, key: string, uncached = false) => {
    const a = asks[at]!;
    a.keys.add(key);
    if (uncached) a.uncached.add(key);
  };
  for (const key of index.slow) {
    const sides = sidesOf(input, index, key);
    for (const s of racyPairs(sides)) ask(s.at, key, s.racy);
    const { versions } = competitors(sides, input.agreed.get(key));
    versions.forEach((a, i) => {
      for (const b of versions.slice(i + 1)) {
        if (!needsHash(input, a, b)) continue;
        ask(a.at, key);
        ask(b.at, key);
      }
    });
  }
  // A new file of the size and time of a deleted one: the same content elsewhere proves a
  // rename (hashed on the member that made it, and on one that holds the old path agreed).
  for (const c of lookalikes(input, index)) {
    ask(c.at, c.to);
    ask(c.witness, c.from);
  }
  // A new file the size of a deleted one whose hash the member's cache has: a rename by content.
  input.members.forEach((m, at) => {
    if (m.out || !m.cachedHash) return;
    const mi = index.members[at]!;
    const gone = new Set<number>();
    for (const k of mi.gone) {
      const h = m.holds.get(k);
      if (h && h.size > 0 && m.cachedHash(k)) gone.add(h.size);
    }
    if (gone.size === 0) return;
    for (const k of mi.fresh) {
      const e = mi.files.get(k);
      if (e && gone.has(e.size) && !e.ino) ask(at, k);
    }
  });
  return asks.map((a, at) => ({
    at,
    keys: [...a.keys],
    ...(a.uncached.size > 0 ? { uncached: [...a.uncached] } : {}),
  })).filter((r) => r.keys.length > 0);
}

/**
 * Pairs of a deleted file and a new one on one member, with one size and time, neither proven
 * by an inode: a member holding the old path as agreed (`witness`) can prove them one file by
 * content.
 */
function lookalikes(
  input: MirrorInput,
  index: MirrorIndex,
): { at: number; from: string; to: string; witness: number }[] {
  const out: { at: number; from: string; to: string; witness: number }[] = [];
  input.members.forEach((m, at) => {
    if (m.out) return;
    const mi = index.members[at]!;
    const gone = new Map<number, [string, HoldRow][]>();
    for (const k of mi.gone) {
      const h = m.holds.get(k);
      if (!h || h.size <= 0) continue;
      const list = gone.get(h.size);
      if (list) list.push([k, h]);
      else gone.set(h.size, [[k, h]]);
    }
    if (gone.size === 0) return;
    for (const k of mi.fresh) {
      const e = mi.files.get(k);
      if (!e) continue;
      for (const [from, h] of gone.get(e.size) ?? []) {
        if (h.ino && e.ino) continue;
        if (Math.abs(h.mtime - e.mtime) >= Math.max(1, m.timePrecision, e.precision ?? 0)) continue;
        const witness = sidesOf(input, index, from).find((s) => s?.status === "in");
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
function findRenames(input: MirrorInput, index: MirrorIndex): Rename[] {
  const out: Rename[] = [];
  const usedFrom = new Set<string>();
  const usedTo = new Set<string>();
  const byContent = new Map<string, string>();
  for (const c of lookalikes(input, index)) {
    const a = input.hashes?.[c.at]?.get(c.to);
    const b = input.hashes?.[c.witness]?.get(c.from);
    if (a && a === b) byContent.set(`${c.at}\u0000${c.to}`, c.from);
  }
  input.members.forEach((m, at) => {
    if (m.out) return;
    const mi = index.members[at]!;
    const byIno = new Map<string, string>();
    const byHash = new Map<string, string>();
    for (const k of mi.gone) {
      const h = m.holds.get(k);
      if (!h || usedFrom.has(k)) continue;
      if (h.ino) byIno.set(`${h.ino}:${h.dev}`, k);
      const sha = m.cachedHash?.(k);
      if (sha) byHash.set(`${h.size}:${sha}`, k);
    }
    if (byIno.size === 0 && byHash.size === 0 && byContent.size === 0) return;
    for (const k of mi.fresh) {
      const e = mi.files.get(k);
      if (!e || usedTo.has(k)) continue;
      let from = e.ino ? byIno.get(`${e.ino}:${e.dev ?? 0}`) : undefined;
      const sha = e.sha256 ?? input.hashes?.[at]?.get(k);
      if (!from && sha) from = byHash.get(`${e.size}:${sha}`);
      from ??= byContent.get(`${at}\u0000${k}`);
      if (!from || usedFrom.has(from)) continue;
      const h = m.holds.get(from);
      if (!h || h.size !== e.size) continue;
      const a = input.agreed.get(from);
      if (!a || a.kind !== "file" || h.ver !== a.ver) continue;
      const movers = moversOf(input, index, at, from, e);
      if (!movers) continue;
      usedFrom.add(from);
      usedTo.add(k);
      out.push({ from, to: k, movers });
    }
  });
  return out;
}

/**
 * The members a rename on member `at` spreads to as a move: elsewhere, the agreed version sits
 * at the old path and nothing at the new one. Undefined when the rename cannot spread so.
 */
function moversOf(
  input: MirrorInput,
  index: MirrorIndex,
  at: number,
  from: string,
  e: Entry,
): number[] | undefined {
  const m = input.members[at]!;
  const movers: number[] = [];
  let clash = false;
  const olds = sidesOf(input, index, from);
  const news = sidesOf(input, index, e.key);
  input.members.forEach((o, j) => {
    if (j === at || o.out) return;
    const s = olds[j];
    const t = news[j];
    if (!s || !t) return;
    // The same rename made there too: nothing to do.
    if (
      t.status === "new" && s.status === "deleted" && t.cur.size === e.size &&
      Math.abs(t.cur.mtime - e.mtime) < Math.max(1, o.timePrecision, m.timePrecision)
    ) return;
    // Edited elsewhere, the old path lives on: no move (the new path is copied instead).
    if (t.status !== "none" || s.status === "changed" || s.status === "new") clash = true;
    else if (s.status === "in" && o.canMove) movers.push(j);
  });
  return clash || movers.length === 0 ? undefined : movers;
}

/** One member's renames, spread as moves. */
export interface MemberMoves {
  /** Paths it moves a file away from, by the move (a folder move where one took it in). */
  away: Map<string, Op>;
  /** Paths it moves a file to, with the move and the entry it will then hold there. */
  into: Map<string, { op: Op; entry: Entry }>;
  /** Its folder moves (a whole folder renamed). */
  dirs: { from: string; to: string }[];
}

/**
 * The renames of a pass as moves: file moves, collapsed member by member into folder moves
 * where a whole folder moved (the one-way planner's rule).
 *
 * @param input Listings, holds, agreed rows, hashes.
 * @param index The pass's index.
 * @returns The moves to run, and each member's.
 */
export function renameMoves(
  input: MirrorInput,
  index: MirrorIndex,
): { moves: Op[]; byMember: MemberMoves[] } {
  const byMember = input.members.map((): MemberMoves => ({
    away: new Map(),
    into: new Map(),
    dirs: [],
  }));
  /** File moves by member, members in the order their first move was found. */
  const fileMoves = new Map<number, Extract<Op, { op: "move" }>[]>();
  const into: { at: number; to: string; op: Op; entry: Entry }[] = [];
  const away: { at: number; from: string; op: Op }[] = [];
  for (const r of findRenames(input, index)) {
    for (const j of r.movers) {
      const cur = index.members[j]!.files.get(r.from);
      if (!cur) continue;
      const op: Extract<Op, { op: "move" }> = {
        op: "move",
        at: j,
        kind: "file",
        from: r.from,
        to: r.to,
        size: cur.size,
        files: 1,
      };
      const list = fileMoves.get(j);
      if (list) list.push(op);
      else fileMoves.set(j, [op]);
      away.push({ at: j, from: r.from, op });
      into.push({ at: j, to: r.to, op, entry: { ...cur, key: r.to } });
    }
  }
  const absorbedInto = new Map<Op, Op>();
  const moves: Op[] = [];
  for (const [at, list] of fileMoves) {
    moves.push(...collapseDirMoves(list, input.members[at]!.entries, false, at, absorbedInto));
  }
  // A member's fate names the move that runs: the folder move a file move was taken into.
  const moveOf = (op: Op) => absorbedInto.get(op) ?? op;
  for (const a of away) byMember[a.at]!.away.set(a.from, moveOf(a.op));
  for (const i of into) byMember[i.at]!.into.set(i.to, { op: moveOf(i.op), entry: i.entry });
  for (const m of moves) {
    if (m.op === "move" && m.kind === "dir") byMember[m.at]!.dirs.push({ from: m.from, to: m.to });
  }
  return { moves, byMember };
}

/** What classify found at one path: the input of {@linkcode decide}. */
export interface PathFacts {
  key: string;
  agreed: AgreedRow | undefined;
  /**
   * By member: its side; undefined where it sits out, cannot list the path, or moves the file
   * here or away (it agrees already: it is left out of the vote).
   */
  sides: (Side | undefined)[];
  /** The fates of the members that move the file here or away. */
  movers: Map<number, Fate>;
  /** A file here in one member (`fileAt`) and a folder in another (`dirAt`). */
  clash?: { fileAt: number; dirAt: number };
}

/**
 * Classify one path that is not in step everywhere.
 *
 * @param input Listings, holds, agreed rows, hashes.
 * @param index The pass's index.
 * @param moved Each member's moves.
 * @param key The path.
 * @returns What each member did there.
 */
export function classify(
  input: MirrorInput,
  index: MirrorIndex,
  moved: readonly MemberMoves[],
  key: string,
): PathFacts {
  const sides = sidesOf(input, index, key);
  const movers = new Map<number, Fate>();
  moved.forEach((mm, j) => {
    if (mm.away.has(key)) sides[j] = undefined;
  });
  moved.forEach((mm, j) => {
    const mi = mm.into.get(key);
    if (!mi) return;
    sides[j] = undefined;
    movers.set(j, { kind: "op", op: mi.op, moved: mi.entry });
  });
  moved.forEach((mm, j) => {
    const op = mm.away.get(key);
    if (op) movers.set(j, { kind: "op", op });
  });
  const facts: PathFacts = { key, agreed: input.agreed.get(key), sides, movers };
  // A folder at this path in some member: a file and a folder cannot be reconciled.
  const dirAt = input.members.findIndex((m, j) => !m.out && index.members[j]!.dirs.has(key));
  const fileAt = sides.find((s) => s?.cur)?.at;
  if (dirAt >= 0 && fileAt !== undefined) facts.clash = { fileAt, dirAt };
  return facts;
}
