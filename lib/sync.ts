/**
 * The one-way kind: a source and a destination. `runPass` (`lib/pass/run.ts`) makes the pass;
 * this file says what is one-way about it: a missing source is refused and a destination the
 * job synced into is never made again, a failed listing fails the run, only the times the plan
 * needs are asked for, names folded into a destination without case, the one-way planner, the
 * empty-source and `--max-delete` guards, and the one-way state record. Library code: it emits
 * events and throws typed errors; it never prints or exits.
 *
 * @module
 */
import * as nodePath from "node:path";
import { type Backend, type Entry, fastPath, type Listing, osPathOf } from "./backends/backend.ts";
import { foldNames } from "./plan/case_names.ts";
import {
  describeError,
  missingDestination,
  missingSource,
  RunError,
  SafetyError,
} from "./errors.ts";
import { matchKey } from "./paths.ts";
import {
  inodeKey,
  type Match,
  matchListings,
  type OneWayInput,
  oneWayPlanner,
  sameFile,
} from "./plan/one_way.ts";
import type { JobState, StateRow, StateView } from "./state/store.ts";
import { deriveChanges, type PassRecord, sameDigest } from "./state/derive.ts";
import { deletesPerMember, overDeleteLimit } from "./pass/delete_limit.ts";
import type { Kind, Pass } from "./pass/kind.ts";
import type { PassOptions } from "./pass/options.ts";
import { placeOf } from "./pass/place.ts";
import type { PassResult } from "./pass/result.ts";
import { createMember, openMember } from "./pass/roots.ts";
import { runPass } from "./pass/run.ts";

/** Options of {@linkcode syncOnce} (those of every pass; `delete` applies). */
export type SyncOptions = PassOptions;

/** What a sync pass did (or, with `dryRun`, would do). */
export type SyncResult = PassResult;

/**
 * Make `dst` hold what `src` holds.
 *
 * @param src The source location.
 * @param dst The destination location (created when missing).
 * @param options Flags, event sink, state store.
 * @returns The plan and what was done.
 * @throws {SafetyError} When the source root is missing, or the run would delete more than
 * allowed or empty the destination because the source is empty.
 */
export function syncOnce(src: Backend, dst: Backend, options: SyncOptions): Promise<SyncResult> {
  return runPass([src, dst], oneWayKind, options);
}

/** What a one-way pass keeps of the state: the job's rows, each location's read once. */
interface OneWayState {
  job: JobState;
  /** The source's and the destination's ids. */
  ids: [string, string];
  rows(i: number): Map<string, StateRow>;
}

const oneWayKind: Kind<OneWayState, OneWayInput, Match> = {
  name: "sync",
  key: (members) => jobKey(...pairOf(members)),
  pass: (members, options) => runPass(members, oneWayKind, options),
  planner: oneWayPlanner,
  // The source is only read.
  writes: (i) => i === 1,
  async roots(pass) {
    const [src, dst] = pairOf(pass.members);
    if (!(await openMember(pass, 0, false))) throw missingSource(src.display);
    if (await openMember(pass, 1, true)) return;
    // Once the job has synced into it, a missing destination is never made again. (A folder
    // whose parent is gone too is refused by createRoot, whose line names the folder to plug
    // in.)
    const { force, state } = pass.options;
    if (!force && state && !parentGone(dst)) {
      const left = state.lastLeft(src.id, dst.id, placeOf(dst));
      if (left !== undefined) throw missingDestination(dst.display, left);
    }
    await createMember(pass, 1);
  },
  readState(pass) {
    const [src, dst] = pairOf(pass.members);
    // Rows are kept per job: two jobs sharing a folder keep their own (see JobState).
    const job = pass.options.state?.forJob(jobKey(src, dst), { readOnly: !!pass.options.dryRun });
    if (!job) return undefined;
    // A location's rows are read at most once a pass: listing, renames, hashing share them.
    const cache: Map<string, StateRow>[] = [];
    const ids: [string, string] = [src.id, dst.id];
    return { job, ids, rows: (i) => cache[i] ??= job.rows(ids[i]!) };
  },
  known: (_pass, s, i) => s?.rows(i),
  listFailed(pass, i, err) {
    // Per kind: a sync has nothing to do without either of its two sides (a mirror goes on
    // with the others). The root was there a moment ago: a listing that fails now is a failed
    // run (exit 1).
    const b = pass.members[i]!;
    throw new RunError(`Cannot list "${b.display}": ${describeError(err)}`, { cause: err });
  },
  // Per kind: only the times a one-way plan needs (a mirror needs every member's).
  fillMeta: (pass) => fillNeededMeta(pass),
  listed(pass) {
    const [src, dst] = pairOf(pass.members);
    const [srcList] = pass.listings as [Listing, Listing];
    // Archived objects are not read: they are reported, counted as skipped, and kept.
    const archived = srcList.entries.filter((e) => e.archived);
    if (archived.length > 0) {
      srcList.entries = srcList.entries.filter((e) => !e.archived);
      for (const a of archived) {
        pass.archived.push(a.key);
        pass.summary.skipped++;
        pass.options.sink.emit({
          event: "skip",
          path: a.key,
          reason: "archived: run `ferry restore` first",
        });
      }
    }
    // Names that differ only by case, into a destination that does not tell them apart: one
    // is synced, the others fail by name (each would overwrite it there, another each run).
    if (!src.caps.caseInsensitive && dst.caps.caseInsensitive) {
      foldNames([srcList], [false], `"${dst.display}"`, true);
    }
    if (!src.caps.dirs) {
      const implied = withParentDirs(srcList.entries);
      srcList.entries = implied.entries;
      for (const key of implied.shadowed) {
        srcList.skipped.push({
          key,
          reason: "is both a file and a folder of other files in the source; a disk holds only one",
        });
      }
    }
    return undefined;
  },
  view(pass, s) {
    const [src, dst] = pairOf(pass.members);
    const [srcList, dstList] = pass.listings as [Listing, Listing];
    const input: OneWayInput = {
      src: srcList.entries,
      dst: dstList.entries,
      srcProblems: srcList.problems.map((p) => p.key),
      srcKept: new Set(pass.archived),
      dstDirs: dst.caps.dirs,
      modifyWindow: Math.max(src.caps.timePrecision, dst.caps.timePrecision),
      foldCase: src.caps.caseInsensitive || dst.caps.caseInsensitive,
      checksum: !!pass.options.checksum,
      dstRetime: !!dst.setModTime && dst.caps.modTime !== "remembered",
      delete: !!pass.options.delete,
    };
    // The planner matches the listings again in `wants` (a few ms for 50,000 entries): asked
    // here only when there is state to reveal a rename.
    const m = s ? matchListings(input) : undefined;
    // Without --delete, only files the source had (by the state) may be taken for renamed ones.
    if (s && m && !input.delete && needsHad(m)) {
      input.srcHad = new Set([...s.rows(0).keys()].map((k) => matchKey(k, input.foldCase)));
    }
    // Inode renames first: what they prove needs no hashing.
    if (s && m && needsPrior(m)) {
      const srcByInode = new Map<string, PriorFile>();
      for (const r of s.rows(0).values()) if (r.ino) srcByInode.set(`${r.ino}:${r.dev}`, r);
      input.prior = { srcByInode };
      keepProvenInodes(input, m, src);
    }
    return { view: input, entries: [srcList.entries, dstList.entries] };
  },
  hashCache: (s, i) => s?.job.hashes(s.ids[i]!),
  // Both kinds count the rest of the job alike: the member's files less those in scope (by key
  // ranges, not a read of every row).
  outside: (pass, s, i) => s && pass.scope ? s.job.countOutside(s.ids[i]!, pass.scope) : 0,
  guards(pass, plan, totals) {
    const [src, dst] = pairOf(pass.members);
    plan.destFiles = totals[1]!;
    const deleted = deletesPerMember(plan, 2)[1]!;
    if (deleted === 0 || pass.options.force) return;
    if (totals[0] === 0) {
      throw new SafetyError(
        `Source "${src.display}" is empty: refusing to delete ${deleted} file(s) in "${dst.display}" (use --force if that is intended)`,
      );
    }
    const over = overDeleteLimit(pass.options.maxDelete, deleted, plan.destFiles);
    if (over) {
      const pct = plan.destFiles ? Math.round((deleted / plan.destFiles) * 100) : 100;
      throw new SafetyError(
        `Refusing to delete ${deleted} of ${plan.destFiles} file(s) (${pct}%) in "${dst.display}": over --max-delete ${over}. Check the source, then raise --max-delete or use --force`,
      );
    }
  },
  record(pass, s, plan, res, hashes) {
    const [src, dst] = pairOf(pass.members);
    const [srcList, dstList] = pass.listings as [Listing, Listing];
    const { scope } = pass;
    const state = s.job;
    recordPass(state, {
      ids: { src: src.id, dst: dst.id },
      src: srcList.entries,
      dst: dstList.entries,
      foldCase: src.caps.caseInsensitive || dst.caps.caseInsensitive,
      plan,
      res,
      hashes,
      now: pass.now,
      scope,
      timesStand: [src.caps.modTime !== "stored", dst.caps.modTime !== "stored"],
      // The rows in scope (rows elsewhere are not this pass's to judge).
      recorded: () => ({
        src: scope ? state.digestUnder(src.id, scope) : state.digest(src.id),
        dst: scope ? state.digestUnder(dst.id, scope) : state.digest(dst.id),
      }),
    });
    // Where each was: a destination missing later is known by it (a folder that is gone has
    // no marker to name it), and not made again.
    for (const b of [src, dst]) pass.options.state!.notePlace(b.id, placeOf(b));
  },
  extras: () => ({}),
};

/**
 * Ask a store for the modification times its listing left out, only where the plan needs
 * them: every source object (a copy keeps its time), and a destination object only when it
 * pairs with a source file of the same size that the upload time does not already show to be
 * in step (with `--checksum`, every such pair: equal content may still need its time set). A
 * first no-op after an upload of 100,000 files sends no HEAD per object, even with
 * no state; objects to be overwritten or deleted are re-checked by their ETag instead.
 *
 * An entry whose time cannot be read is failed and left out of the listing (per kind: a
 * mirror keeps it). In one direction that is safe: a source key that failed is among the
 * problems (nothing is deleted for it, and the failure holds every deletion back), and a
 * destination file left out is at worst written again from the source, which decides anyway.
 */
async function fillNeededMeta(pass: Pass): Promise<void> {
  const [src, dst] = pairOf(pass.members);
  const [srcList, dstList] = pass.listings as [Listing, Listing];
  const checksum = !!pass.options.checksum;
  const fill = async (b: Backend, list: Listing, want: Entry[]) => {
    if (want.length === 0 || !b.fillMeta) return;
    const problems = await b.fillMeta(want);
    if (problems.length === 0) return;
    list.problems.push(...problems);
    const bad = new Set(problems.map((p) => p.key));
    list.entries = list.entries.filter((e) => !bad.has(e.key));
  };
  await fill(src, srcList, srcList.entries.filter((e) => e.metaPending));
  const pending = dstList.entries.filter((e) => e.metaPending);
  if (pending.length === 0) return;
  const fold = src.caps.caseInsensitive || dst.caps.caseInsensitive;
  const srcBy = new Map(srcList.entries.map((e) => [matchKey(e.key, fold), e]));
  const window = Math.max(src.caps.timePrecision, dst.caps.timePrecision);
  await fill(
    dst,
    dstList,
    pending.filter((d) => {
      const s = srcBy.get(matchKey(d.key, fold));
      // With --checksum every pair of one size: content found equal may still need its time.
      return s?.kind === "file" && s.size === d.size &&
        (checksum || !sameFile(s, d, { modifyWindow: window, checksum: false }));
    }),
  );
}

/** Whether a folder location's parent folder is missing (a drive unplugged, most often). */
function parentGone(b: Backend): boolean {
  const root = osPathOf(b, "");
  if (root === undefined) return false;
  try {
    Deno.statSync(nodePath.dirname(root));
    return false;
  } catch (err) {
    return err instanceof Deno.errors.NotFound;
  }
}

/**
 * The key a one-way job's state is kept under: its kind and its two locations, in order.
 *
 * @param src The source.
 * @param dst The destination.
 * @returns Such as `sync file:/a > s3:aws/b/p`.
 */
export function jobKey(src: Backend, dst: Backend): string {
  return `sync ${src.id} > ${dst.id}`;
}

/** The one-way kind: its two members are the source and the destination. */
export const oneWay: Kind = oneWayKind;

function pairOf(members: readonly Backend[]): [Backend, Backend] {
  if (members.length !== 2) throw new TypeError(`a sync has two locations, not ${members.length}`);
  return [members[0]!, members[1]!];
}

/**
 * Add the folders a store without folders implies (every parent of a file), so that the
 * destination's folders are created and none is deleted for seeming absent.
 */
function withParentDirs(entries: Entry[]): { entries: Entry[]; shadowed: string[] } {
  const dirs = new Map<string, Entry>();
  for (const e of entries) {
    for (let i = e.key.indexOf("/"); i >= 0; i = e.key.indexOf("/", i + 1)) {
      const d = e.key.slice(0, i);
      if (!dirs.has(d)) dirs.set(d, { key: d, kind: "dir", size: 0, mtime: 0 });
    }
  }
  // A key that is both a file and a prefix of others cannot be both on a disk: keep the folder
  // and report the file as skipped (it stays in the source, and nothing is deleted for it).
  const shadowed: string[] = [];
  const out = entries.filter((e) => {
    const both = e.kind === "file" && dirs.has(e.key);
    if (both) shadowed.push(e.key);
    return !both;
  });
  for (const d of dirs.values()) out.push(d);
  return { entries: out, shadowed };
}

type PriorFile = { path: string; size: number; mtime: number; syncedAt: number };

/**
 * An inode proves a rename only for a file that already existed when a pass recorded that
 * inode: a file born later got a freed inode (ext4 hands them out again at once), and taking it
 * for a rename would put another file's content under its name. Inode matches that the birth
 * time cannot prove are dropped; such files are matched by content hash instead.
 */
function keepProvenInodes(input: OneWayInput, m: Match, src: Backend): void {
  const byInode = input.prior!.srcByInode as Map<string, PriorFile>;
  const birthTime = fastPath(src, "birthTime");
  for (const s of m.fresh) {
    const ik = s.kind === "file" ? inodeKey(s) : undefined;
    const prior = ik ? byInode.get(ik) : undefined;
    if (!prior || prior.path === s.key) continue;
    const born = birthTime?.(s.key);
    if (born === undefined || !(born < prior.syncedAt)) byInode.delete(ik!);
  }
}

/** Whether a new source file could be a destination file the source lacks, renamed. */
function needsHad(m: Match): boolean {
  return m.orphans.length > 0 && m.fresh.some((e) => e.kind === "file");
}

/** Whether any source file is new to the destination (only then can state reveal a rename). */
function needsPrior(m: Match): boolean {
  return m.orphans.length > 0 && m.fresh.some((e) => e.kind === "file" && e.ino);
}

/**
 * Record a pass in one transaction: the changes it made (the source's rows as the job's agreed
 * versions, as a mirror keeps them), and when the rows do not then add up to the files in step
 * (first run, a pass killed before its state was written, lost or edited state), a rebuild of
 * both members' rows from the listings. A scoped pass rebuilds the rows in its scope.
 */
function recordPass(state: StateView, pass: PassRecord): void {
  const d = deriveChanges(pass);
  if (!d) return;
  state.transaction(() => {
    if (d.changes) state.apply(d.changes);
    if (pass.res.interrupted) return;
    if (
      !pass.scope && d.changes && sameDigest(state.digest(pass.ids.src), d.inStep) &&
      sameDigest(state.digest(pass.ids.dst), d.inStep)
    ) return;
    state.apply(d.rebuild);
  });
}
