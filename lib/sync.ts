/**
 * One pass of a one-way sync: scan → hash what must be hashed → plan → execute → commit
 * state. Library code: it emits events and throws typed errors; it never prints or exits.
 *
 * @module
 */
import * as nodePath from "node:path";
import {
  type Backend,
  type Entry,
  fastPath,
  type KnownFile,
  type Listing,
  type ListOptions,
  osPathOf,
} from "./backends/backend.ts";
import { foldNames } from "./plan/case_names.ts";
import {
  describeError,
  missingDestination,
  missingSource,
  RunError,
  SafetyError,
} from "./errors.ts";
import { confirmDeletes, executeDurably } from "./execute/execute.ts";
import { inScope, matchKey, normaliseScope } from "./paths.ts";
import {
  inodeKey,
  matchListings,
  type OneWayInput,
  oneWayPlanner,
  sameFile,
} from "./plan/one_way.ts";
import { countPlan, type Op, opsOf } from "./plan/types.ts";
import type { StateRow, StateView } from "./state/store.ts";
import { deriveChanges, type PassRecord } from "./state/derive.ts";
import { overDeleteLimit } from "./pass/delete_limit.ts";
import { hashStage } from "./pass/hash_stage.ts";
import { readIgnoreFile } from "./pass/ignore.ts";
import type { Kind } from "./pass/kind.ts";
import type { PassOptions } from "./pass/options.ts";
import { placeOf } from "./pass/place.ts";
import { planEvent } from "./pass/plan_event.ts";
import { type PassResult, writtenBy } from "./pass/result.ts";
import { type Summary, ZERO_SUMMARY } from "./pass/summary.ts";

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
export async function syncOnce(
  src: Backend,
  dst: Backend,
  options: SyncOptions,
): Promise<SyncResult> {
  const ready = { release: () => {} };
  try {
    return await syncPass(src, dst, options, ready);
  } finally {
    ready.release();
    src.endPass?.();
    dst.endPass?.();
  }
}

async function syncPass(
  src: Backend,
  dst: Backend,
  options: SyncOptions,
  ready: { release: () => void },
): Promise<SyncResult> {
  const started = performance.now();
  // State rows record when a pass saw them: a file born after that is not the file it saw.
  const passStart = Date.now();
  const { sink } = options;
  // Opened, each backend's capabilities are what it found (a FAT stick as the destination: 2 s
  // times, names without case), not what the platform suggests.
  if (!(await src.open("read")).exists) throw missingSource(src.display);
  const writes = options.dryRun ? "read" : "write";
  let dstExists = (await dst.open(writes)).exists;
  const dstEmpty = !dstExists || (fastPath(dst, "isEmpty")?.() ?? false);
  // Once the job has synced into it, a missing destination is never made again. (A folder whose
  // parent is gone too is refused by createRoot, whose line names the folder to plug in.)
  if (!dstExists && !options.force && options.state && !parentGone(dst)) {
    const left = options.state.lastLeft(src.id, dst.id, placeOf(dst));
    if (left !== undefined) throw missingDestination(dst.display, left);
  }
  if (!dstExists && !options.dryRun) {
    await dst.createRoot();
    dstExists = (await dst.open(writes)).exists;
    sink.emit({ event: "note", level: "info", message: `Created "${dst.display}"` });
  }
  // Uploads a killed run left open are aborted (they would be billed for ever).
  if (options.state && dst.recoverUploads && !options.dryRun) {
    const n = await dst.recoverUploads(options.state).catch(() => 0);
    if (n > 0) {
      sink.emit({
        event: "note",
        level: "info",
        message: `Aborted ${n} unfinished upload(s) of an earlier run`,
      });
    }
  }
  // A first copy: the destination gets ready for it (copy Workers) while the source is listed.
  const prepare = dstEmpty && !options.dryRun ? fastPath(dst, "prepareCopyFrom") : undefined;
  if (prepare) ready.release = prepare(src);

  const exclude = [
    ...(options.exclude ?? []),
    ...(await readIgnoreFile(src)),
    ...(dstExists ? await readIgnoreFile(dst) : []),
  ];
  // A location known by another id before (a folder by its path, before its marker) keeps
  // what the state knew of it.
  if (!options.dryRun) {
    for (const b of [src, dst]) {
      for (const f of b.formerIds ?? []) options.state?.adoptLocation(f, b.id);
    }
  }
  // Rows are kept per job: two jobs sharing a folder keep their own (see JobState).
  const state = options.state?.forJob(jobKey(src, dst), { readOnly: !!options.dryRun });
  // A location's rows are read at most once a pass: listing, renames and hashing share them.
  const rowCache = new Map<string, Map<string, StateRow>>();
  const rowsOf = (id: string): Map<string, StateRow> | undefined => {
    if (!state) return undefined;
    let rows = rowCache.get(id);
    if (!rows) rowCache.set(id, rows = state.rows(id));
    return rows;
  };
  const listOptions = (b: Backend): ListOptions => {
    // Where each mtime costs a request, or the backend keeps none, the state's record stands in
    // (valid while the stamp is the one recorded); slow stores are asked only for the times
    // the plan needs (below).
    if (b.caps.modTime === "stored") return { exclude };
    const rows = rowsOf(b.id);
    return {
      exclude,
      ...(b.caps.modTime === "slow" ? { lazyMeta: true } : {}),
      ...(rows ? { known: rows as ReadonlyMap<string, KnownFile> } : {}),
    };
  };
  // A scope is listed on both sides; without state (no count of the whole job) it is no scope.
  const scope = state ? normaliseScope(options.scope) : undefined;
  const scoped = (o: ListOptions): ListOptions => scope ? { ...o, under: scope } : o;
  const srcOptions = scoped(listOptions(src));
  const dstOptions = scoped(listOptions(dst));
  const together = dstExists && !scope && !srcOptions.known && !dstOptions.known
    ? await fastPath(src, "listWith")?.(dst, srcOptions)
    : undefined;
  const listed = (b: Backend, p: Promise<Listing>) =>
    p.catch((err) => {
      // The root was there a moment ago: a listing that fails now is a failed run (exit 1).
      throw new RunError(`Cannot list "${b.display}": ${describeError(err)}`, { cause: err });
    });
  const [srcList, dstList] = together ?? await Promise.all([
    listed(src, src.list(srcOptions)),
    dstExists
      ? listed(dst, dst.list(dstOptions))
      : Promise.resolve<Listing>({ entries: [], problems: [], skipped: [] }),
  ]);
  await fillNeededMeta(src, srcList, dst, dstList, !!options.checksum);
  // Archived objects are not read: they are reported, counted as skipped, and kept.
  const archived = srcList.entries.filter((e) => e.archived);
  if (archived.length > 0) {
    srcList.entries = srcList.entries.filter((e) => !e.archived);
    for (const a of archived) {
      sink.emit({ event: "skip", path: a.key, reason: "archived: run `ferry restore` first" });
    }
  }
  // Names that differ only by case, into a destination that does not tell them apart: one is
  // synced, the others fail by name (each would overwrite it there, a different one each run).
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

  const tScan = performance.now();

  const failures: SyncResult["failures"] = [];
  for (const p of srcList.problems) {
    failures.push({ path: p.key, error: p.message });
    sink.emit({ event: "fail", path: p.key, op: p.op ?? "list", error: p.message });
  }
  for (const s of srcList.skipped) sink.emit({ event: "skip", path: s.key, reason: s.reason });
  for (const p of dstList.problems) {
    failures.push({ path: p.key, error: p.message });
    sink.emit({ event: "fail", path: p.key, op: p.op ?? "list", error: p.message });
  }

  // The guards count the whole job: in a scoped pass, the files outside the scope are the
  // ones the state recorded there (a folder emptied on purpose is not an "empty source").
  const outside = (id: string) => {
    if (!scope) return 0;
    let n = 0;
    for (const k of rowsOf(id)!.keys()) if (!inScope(k, scope)) n++;
    return n;
  };
  const srcFiles = srcList.entries.filter((e) => e.kind === "file").length + outside(src.id);
  const input: OneWayInput = {
    src: srcList.entries,
    dst: dstList.entries,
    srcProblems: srcList.problems.map((p) => p.key),
    srcKept: new Set(archived.map((a) => a.key)),
    dstDirs: dst.caps.dirs,
    modifyWindow: Math.max(src.caps.timePrecision, dst.caps.timePrecision),
    foldCase: src.caps.caseInsensitive || dst.caps.caseInsensitive,
    checksum: !!options.checksum,
    dstRetime: !!dst.setModTime && dst.caps.modTime !== "remembered",
    delete: !!options.delete,
  };

  // Without --delete, only files the source had (by the state) may be taken for renamed ones.
  if (state && !input.delete && needsHad(input)) {
    input.srcHad = new Set([...rowsOf(src.id)!.keys()].map((k) => matchKey(k, input.foldCase)));
  }
  // Inode renames first: what they prove needs no hashing.
  if (state && needsPrior(input)) {
    const srcByInode = new Map<string, PriorFile>();
    for (const r of rowsOf(src.id)!.values()) {
      if (r.ino) srcByInode.set(`${r.ino}:${r.dev}`, r);
    }
    input.prior = { srcByInode };
    keepProvenInodes(input, src);
  }
  const wanted = oneWayPlanner.wants(input);
  const hashes = await hashStage(
    [src, dst],
    [srcList.entries, dstList.entries],
    wanted.requests,
    (id) => state?.hashes(id),
    sink,
    !!options.checksum,
  );
  const tHash = performance.now();
  const archivedKeys = archived.map((a) => a.key);
  const plan = oneWayPlanner.plan(input, hashes.byMember, wanted.index);
  const tPlan = performance.now();

  const counts = countPlan(plan);
  plan.destFiles += outside(dst.id);

  if (counts.deleted > 0) {
    if (srcFiles === 0 && !options.force) {
      throw new SafetyError(
        `Source "${src.display}" is empty: refusing to delete ${counts.deleted} file(s) in "${dst.display}" (use --force if that is intended)`,
      );
    }
    const over = overDeleteLimit(options.maxDelete, counts.deleted, plan.destFiles);
    if (over && !options.force) {
      const pct = plan.destFiles ? Math.round((counts.deleted / plan.destFiles) * 100) : 100;
      throw new SafetyError(
        `Refusing to delete ${counts.deleted} of ${plan.destFiles} file(s) (${pct}%) in "${dst.display}": over --max-delete ${over}. Check the source, then raise --max-delete or use --force`,
      );
    }
  }

  const summary: Summary = {
    ...ZERO_SUMMARY,
    skipped: srcList.skipped.length + archived.length,
    failed: srcList.problems.length + dstList.problems.length,
  };
  for (const c of plan.conflicts) {
    summary.conflicts++;
    failures.push({ path: c.key, error: c.message });
    sink.emit({ event: "conflict", path: c.key, message: c.message });
  }

  if (options.dryRun) {
    for (const o of opsOf(plan)) sink.emit(planEvent(o));
    const { copied, updated, moved, deleted, bytes } = counts; // its conflicts are counted
    Object.assign(summary, { copied, updated, moved, deleted, bytes });
    summary.seconds = (performance.now() - started) / 1000;
    return {
      plan,
      summary,
      failures,
      interrupted: false,
      deletesHeld: false,
      archived: archivedKeys,
      written: [],
    };
  }

  const toRun = await confirmDeletes(plan, options.confirmDelete, sink);
  // Returned, the destination's writes are durable (an archive's directory): only then does
  // the state record them.
  const res = await executeDurably(toRun, [src, dst], [dst], {
    concurrency: Math.min(options.concurrency ?? 16, src.caps.concurrency, dst.caps.concurrency),
    ...(options.retryDelay !== undefined ? { retryDelay: options.retryDelay } : {}),
    sink,
    // Nothing is deleted in a run where something could not even be listed.
    holdDeletes: failures.length > 0,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const tExec = performance.now();
  if (state) {
    recordPass(state, {
      ids: { src: src.id, dst: dst.id },
      src: srcList.entries,
      dst: dstList.entries,
      foldCase: input.foldCase,
      plan,
      res,
      hashes,
      now: passStart,
      scope,
      timesStand: [src.caps.modTime !== "stored", dst.caps.modTime !== "stored"],
      recorded: () => {
        if (!scope) return { src: state.count(src.id), dst: state.count(dst.id) };
        // The rows in scope (rows elsewhere are not this pass's to judge).
        const inside = (id: string) => {
          let n = 0;
          for (const k of state.rows(id).keys()) if (inScope(k, scope)) n++;
          return n;
        };
        return { src: inside(src.id), dst: inside(dst.id) };
      },
    });
    // Where each was: a destination missing later is known by it (a folder that is gone has no
    // marker to name it), and not made again.
    for (const b of [src, dst]) options.state!.notePlace(b.id, placeOf(b));
  }

  const tEnd = performance.now();

  const secs = (a: number, b: number) => ((b - a) / 1000).toFixed(3);
  sink.emit({
    event: "note",
    level: "debug",
    message: `timings: scan ${secs(started, tScan)} s, hash+state ${secs(tScan, tHash)} s, plan ${
      secs(tHash, tPlan)
    } s, execute ${secs(tPlan, tExec)} s, state commit ${secs(tExec, tEnd)} s`,
  });
  for (const o of res.outcomes) {
    if (o.status === "failed") failures.push({ path: keyOf(o.op), error: o.message ?? "failed" });
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
    plan,
    summary,
    failures,
    interrupted: res.interrupted,
    deletesHeld: res.deletesHeld,
    archived: archivedKeys,
    written: writtenBy(res.outcomes),
  };
}

/**
 * Ask a store for the modification times its listing left out, only where the plan needs
 * them: every source object (a copy keeps its time), and a destination object only when it
 * pairs with a source file of the same size that the upload time does not already show to be
 * in step (with `--checksum`, every such pair: equal content may still need its time set). A
 * first no-op after an upload of 100,000 files sends no HEAD per object, even with
 * no state; objects to be overwritten or deleted are re-checked by their ETag instead.
 */
async function fillNeededMeta(
  src: Backend,
  srcList: Listing,
  dst: Backend,
  dstList: Listing,
  checksum: boolean,
): Promise<void> {
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
export const oneWay: Kind = {
  name: "sync",
  key: (members) => jobKey(pairOf(members)[0], pairOf(members)[1]),
  pass: (members, options) => syncOnce(pairOf(members)[0], pairOf(members)[1], options),
};

function pairOf(members: readonly Backend[]): [Backend, Backend] {
  if (members.length !== 2) throw new TypeError(`a sync has two locations, not ${members.length}`);
  return [members[0]!, members[1]!];
}

function keyOf(o: Op): string {
  return o.op === "move" ? o.to : o.key;
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
function keepProvenInodes(input: OneWayInput, src: Backend): void {
  const byInode = input.prior!.srcByInode as Map<string, PriorFile>;
  const m = matchListings(input);
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
function needsHad(input: OneWayInput): boolean {
  const m = matchListings(input);
  return m.orphans.length > 0 && m.fresh.some((e) => e.kind === "file");
}

/** Whether any source file is new to the destination (only then can state reveal a rename). */
function needsPrior(input: OneWayInput): boolean {
  const m = matchListings(input);
  return m.orphans.length > 0 && m.fresh.some((e) => e.kind === "file" && e.ino);
}

/**
 * Record a pass in one transaction: the changes it made, and when the rows do not then add up
 * to the files in step (first run, lost or stale state), a rebuild of both members' rows.
 */
function recordPass(state: StateView, pass: PassRecord): void {
  const d = deriveChanges(pass);
  if (!d) return;
  state.transaction(() => {
    if (d.changes) state.apply(d.changes);
    if (pass.res.interrupted) return;
    const whole = !pass.scope;
    if (
      whole && d.changes && state.count(pass.ids.src) === d.inStep &&
      state.count(pass.ids.dst) === d.inStep
    ) return;
    state.apply(d.rebuild);
  });
}
