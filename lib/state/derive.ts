/**
 * What a one-way pass changes in the state: a pure function of the pass (listings, plan,
 * outcomes, hashes) and the counts the state had, table-tested on its own
 * (`tests/state/derive_test.ts`). The caller applies the result in one transaction.
 *
 * @module
 */
import type { Entry } from "../backends/backend.ts";
import type { Outcome } from "../execute/execute.ts";
import { inScope, isWithin, matchKey } from "../paths.ts";
import { type Op, opsOf, type Plan } from "../plan/types.ts";
import { codePoints, type RowDigest, type StateChanges, type StateRow } from "./store.ts";

/** A pass as the state sees it. */
export interface PassRecord {
  /** The source's and the destination's ids. */
  ids: { src: string; dst: string };
  src: readonly Entry[];
  dst: readonly Entry[];
  foldCase: boolean;
  plan: Pick<Plan, "steps" | "conflicts">;
  res: { outcomes: readonly Outcome[]; interrupted: boolean };
  /** Hashes by key per member (0 the source, 1 the destination), and those read this pass. */
  hashes: {
    byMember: readonly ReadonlyMap<string, string>[];
    fresh: readonly (readonly Entry[])[];
  };
  /** When the pass began (rows record it: a file born later is not the file they saw). */
  now: number;
  scope?: readonly string[] | undefined;
  /**
   * Per member (source, destination): whether its rows' times stand in for what its listing
   * shows (a location that keeps no exact time takes them back as `known`). Only then is a
   * coarse listed time recorded as its finer twin's.
   */
  timesStand?: readonly [boolean, boolean];
  /**
   * What each member's rows added up to before the pass: the whole job's, or (scoped) those in
   * the scope.
   */
  recorded: () => { src: RowDigest; dst: RowDigest };
}

/** What to write. */
export interface DerivedChanges {
  /** The changes this pass made; undefined for a first pass (the rebuild records it all). */
  changes?: StateChanges[];
  /**
   * What the files in step after the pass add up to: a member whose rows then add up to
   * anything else is rebuilt (its rows are no record of them).
   */
  inStep: RowDigest;
  /**
   * Both members' rows rebuilt from the listings (every source file in step and its twin),
   * made one at a time when applied; replaces the member's rows (or, scoped, those in scope).
   */
  rebuild: StateChanges[];
}

/**
 * Derive the state changes of a pass.
 *
 * @param pass The pass.
 * @returns Undefined when nothing needs writing (a no-op whose rows already add up to every
 *   file).
 */
export function deriveChanges(pass: PassRecord): DerivedChanges | undefined {
  const { src: srcEntries, dst: dstEntries, plan, res, hashes, now, scope } = pass;
  const planned = opsOf(plan);
  const had = pass.recorded();
  if (planned.length === 0 && hashes.fresh.every((h) => h.length === 0)) {
    // Nothing changed: the state needs no write when its rows already add up to every file.
    const files = digestOf(srcEntries.filter((e) => e.kind === "file" && inScope(e.key, scope)));
    if (sameDigest(had.src, files) && sameDigest(had.dst, files)) return undefined;
  }
  const srcHash = (e: Entry) => e.sha256 ?? hashes.byMember[0]?.get(e.key);
  const dstHash = (e: Entry) => e.sha256 ?? hashes.byMember[1]?.get(e.key);
  const srcBy = new Map(srcEntries.map((e) => [e.key, e]));
  const dstBy = new Map(dstEntries.map((e) => [matchKey(e.key, pass.foldCase), e]));
  // A first complete pass (no rows at all yet) is recorded by the rebuild below alone: rows
  // for each change first would be written twice (at 200,000 files, 100 MB more memory).
  const fresh = !scope && !res.interrupted && had.src.files === 0 && had.dst.files === 0;
  const look: Lookup = { srcBy, dstBy, srcHash, dstHash };
  const { srcUp, dstUp, srcDel, dstDel, dirMoves, after, copiedAs, doneCount } = doneChanges(
    pass,
    look,
    fresh,
  );
  // Source files not in step: what was planned for them did not get done.
  const notInStep = new Set<string>();
  const dirsNotInStep: string[] = [];
  for (const c of plan.conflicts) dirsNotInStep.push(c.key);
  if (doneCount < planned.length) {
    const done = new Set<Op>();
    for (const o of res.outcomes) if (o.status === "done") done.add(o.op);
    for (const op of planned) {
      if (done.has(op)) continue;
      if (op.op === "copy" || op.op === "update" || op.op === "retime") notInStep.add(op.srcKey);
      else if (op.op === "move" && op.kind === "dir") dirsNotInStep.push(op.to);
      if (op.op === "move" && op.kind === "file") notInStep.add(op.to);
    }
  }
  const isInStep = (s: Entry) =>
    s.kind === "file" && !notInStep.has(s.key) && !dirsNotInStep.some((k) => isWithin(s.key, k));
  let plannedKeys: Set<string> | undefined;
  for (const [i, es] of hashes.fresh.entries()) {
    if (es.length === 0) continue;
    plannedKeys ??= new Set(planned.map((op) => op.op === "move" ? op.to : op.key));
    const target = i === 0 ? srcUp : dstUp;
    for (const e of es) {
      if (!plannedKeys.has(e.key)) target.push(rowOf(e, 0, hashes.byMember[i]!.get(e.key)));
    }
  }
  // Rebuild from the listings: every source file in step, and its destination twin.
  // In path order (rows land next to each other in the B-tree), made one at a time: at
  // 200,000 files, two arrays of rows held at once cost 100 MB.
  const twinOf = (s: Entry) => dstBy.get(matchKey(s.key, pass.foldCase));
  const inStepFiles = srcEntries.filter((s) =>
    isInStep(s) && (after.has(s.key) || twinOf(s)?.kind === "file")
  );
  inStepFiles.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  // The source's rows are of the versions copied (a file edited since the walk was copied as
  // the copy read it).
  const versionOf = (s: Entry) => copiedAs.get(s.key) ?? s;
  const srcAll = function* () {
    for (const s of inStepFiles) {
      const twin = twinOf(s);
      const v = versionOf(s);
      const row = twin && v.mtimeKind === "upload"
        ? { ...v, mtime: twin.mtime }
        : pass.timesStand?.[0]
        ? finer(v, twin)
        : v;
      yield rowOf(row, now, srcHash(s));
    }
  };
  const dstAll = function* () {
    for (const s of inStepFiles) {
      const a = after.get(s.key);
      const twin = twinOf(s);
      yield a
        ? rowOf(a.entry, now, a.sha256)
        : maybeRow(twin, now, s, twin ? dstHash(twin) : undefined, pass.timesStand?.[1])!;
    }
  };
  // A scoped pass rebuilds the rows of its subtrees only; every other row stays as it was.
  const replace = scope ? { replaceUnder: scope } : { replaceAll: true };
  return {
    ...(fresh ? {} : {
      changes: [
        { loc: pass.ids.src, upserts: srcUp, deletes: srcDel, dirMoves, agreed: true },
        { loc: pass.ids.dst, upserts: dstUp, deletes: dstDel, dirMoves },
      ],
    }),
    inStep: digestOf(copiedAs.size ? inStepFiles.map(versionOf) : inStepFiles),
    rebuild: [
      { loc: pass.ids.src, upserts: srcAll(), deletes: [], ...replace, agreed: true },
      { loc: pass.ids.dst, upserts: dstAll(), deletes: [], ...replace },
    ],
  };
}

/** A pass's listings by key and its hashes, as the derivation looks them up. */
interface Lookup {
  srcBy: ReadonlyMap<string, Entry>;
  /** By key in match form. */
  dstBy: ReadonlyMap<string, Entry>;
  srcHash(e: Entry): string | undefined;
  dstHash(e: Entry): string | undefined;
}

/**
 * The rows the operations done change (none written for a first pass, `fresh`: the rebuild
 * records it), and each changed source key's destination twin after the pass.
 */
function doneChanges(pass: PassRecord, look: Lookup, fresh: boolean) {
  const { srcBy, dstBy, srcHash, dstHash } = look;
  const srcUp: StateRow[] = [];
  const dstUp: StateRow[] = [];
  const srcDel: string[] = [];
  const dstDel: string[] = [];
  const dirMoves: { from: string; to: string }[] = [];
  /**
   * Destination twin of source keys after this run, where it changed, in the order found: made
   * into a map only when the state is rebuilt. A copy's row replaces a move's, not the reverse.
   */
  const after = new Map<string, { entry: Entry; sha256?: string | undefined }>();
  /** The source's version each copy took, where it is not the one listed (edited since). */
  const copiedAs = new Map<string, Entry>();
  let doneCount = 0;
  for (const o of pass.res.outcomes) {
    if (o.status !== "done") continue;
    doneCount++;
    const op = o.op;
    if (op.op === "copy" || op.op === "update" || op.op === "retime") {
      const s = srcBy.get(op.srcKey);
      // The source row is the version copied (a file that changed since the walk was copied
      // as it was when the copy read it).
      if (s) {
        const v = o.entry && op.op !== "retime"
          ? { ...s, size: o.entry.size, mtime: o.entry.mtime }
          : s;
        if (v !== s) copiedAs.set(s.key, v);
        if (!fresh) srcUp.push(rowOf(v, pass.now, srcHash(s)));
      }
      if (o.entry) {
        const sha256 = s ? srcHash(s) : undefined;
        if (!fresh) dstUp.push(rowOf(o.entry, pass.now, sha256));
        after.set(op.srcKey, { entry: o.entry, sha256 });
      }
    } else if (op.op === "move") {
      if (op.kind === "dir") dirMoves.push({ from: op.from, to: op.to });
      else {
        srcDel.push(op.from);
        dstDel.push(op.from);
      }
      // A file move is one lookup; only a folder move needs the files below it (a scan of all
      // source entries per file move cost 1.8 s for 5,000 renames among 50,000 files).
      const movedFiles = op.kind === "file"
        ? [srcBy.get(op.to)].filter((s) => s !== undefined)
        : pass.src.filter((s) => isWithin(s.key, op.to));
      for (const s of movedFiles) {
        if (s.kind !== "file") continue;
        const oldKey = op.from + s.key.slice(op.to.length);
        const d = dstBy.get(matchKey(oldKey, pass.foldCase));
        if (!d) continue;
        srcUp.push(rowOf(s, pass.now, srcHash(s)));
        const moved = { ...d, key: s.key };
        if (op.kind === "file") dstUp.push(rowOf(moved, pass.now, dstHash(d)));
        // A copy's version of the same key (an update after the move) stands.
        if (!after.has(s.key)) after.set(s.key, { entry: moved });
      }
    } else if (op.op === "delete") {
      srcDel.push(op.key);
      dstDel.push(op.key);
    }
  }
  return { srcUp, dstUp, srcDel, dstDel, dirMoves, after, copiedAs, doneCount };
}

/**
 * What these files add up to, as {@linkcode RowDigest} counts a member's rows.
 *
 * @param files Source files (their keys and sizes are their rows' in both members).
 * @returns The digest.
 */
export function digestOf(files: readonly Entry[]): RowDigest {
  let bytes = 0;
  let chars = 0;
  for (const f of files) {
    bytes += f.size;
    chars += codePoints(f.key);
  }
  return { files: files.length, bytes, chars };
}

/**
 * Whether a member's rows add up to what the files do (a digest an older ferry left unsummed
 * never does).
 */
export function sameDigest(rows: RowDigest, files: RowDigest): boolean {
  return rows.files === files.files && rows.bytes === files.bytes && rows.chars === files.chars;
}

function rowOf(e: Entry, syncedAt: number, sha256?: string): StateRow {
  return {
    path: e.key,
    size: e.size,
    mtime: e.mtime,
    ino: e.ino ?? 0,
    dev: e.dev ?? 0,
    sha256: sha256 ?? e.sha256 ?? null,
    stamp: e.stamp ?? null,
    syncedAt,
  };
}

/**
 * The row of a destination file in step with `s`. An object whose listing had only its upload
 * time (no stored time) is recorded with the source's time: the upload time is no time of the
 * file's, and recorded as one it would make the next run see a change that is not there.
 */
function maybeRow(
  e: Entry | undefined,
  now: number,
  s: Entry,
  sha256: string | undefined,
  timesStand = false,
): StateRow | undefined {
  if (!e || e.kind !== "file") return undefined;
  const v = e.mtimeKind === "upload" ? { ...e, mtime: s.mtime } : timesStand ? finer(e, s) : e;
  return rowOf(v, now, sha256);
}

/**
 * An entry listed with a coarse time (an FTP listing's second, minute or day) that is in step
 * with a twin whose time is finer, recorded with the twin's time. A row's time stands for the
 * file's exact time while its stamp is unchanged (the listing drops the precision then), so a
 * coarse time recorded as it was would differ from the twin's on the next run and send the
 * file again.
 */
function finer(e: Entry, twin: Entry | undefined): Entry {
  const coarse = e.precision ?? 0;
  if (!twin || coarse <= (twin.precision ?? 0) || Math.abs(e.mtime - twin.mtime) >= coarse) {
    return e;
  }
  return { ...e, mtime: twin.mtime };
}
