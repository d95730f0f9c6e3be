/**
 * One pass, whatever its kind: open and probe the roots, list (scoped or whole, with what the
 * state knows), fill metadata, report problems, hash what the planner asks for, plan, guard,
 * dry-run or confirm, execute durably, record the state in one transaction, summarise. The
 * kind (`lib/sync.ts`, `lib/mirror.ts`) is asked only where the two differ. Library code: it
 * emits events and throws typed errors; it never prints or exits.
 *
 * @module
 */
import { type Backend, fastPath, type Listing, type ListOptions } from "../backends/backend.ts";
import { confirmDeletes, type ExecResult, executeDurably } from "../execute/execute.ts";
import { normaliseScope } from "../paths.ts";
import { countPlan, type Op, opsOf, type Plan } from "../plan/types.ts";
import { hashStage } from "./hash_stage.ts";
import { readIgnoreFile } from "./ignore.ts";
import type { Kind, Pass } from "./kind.ts";
import type { PassOptions } from "./options.ts";
import { planEvent } from "./plan_event.ts";
import { type PassResult, writtenBy } from "./result.ts";
import { recoverAll } from "./roots.ts";
import { ZERO_SUMMARY } from "./summary.ts";
import { describeError } from "../errors.ts";
import { runName, TRASH_DAYS } from "../trash/layout.ts";
import { expireTrash } from "../trash/trash.ts";

/**
 * One pass of `kind` over `members`.
 *
 * @param members The job's locations (a sync: source first).
 * @param kind What the pass is (`oneWay`, `mirror`).
 * @param options Flags, event sink, state store, scope.
 * @returns What the pass did (or, with `dryRun`, would do).
 * @throws {SafetyError} When the kind refuses the pass (a missing source, too many deletions).
 */
export async function runPass<S, V, I, P extends Plan>(
  members: readonly Backend[],
  kind: Kind<S, V, I, P>,
  options: PassOptions,
): Promise<PassResult> {
  const pass = newPass(members, options);
  try {
    return await passOf(pass, kind);
  } finally {
    pass.release();
    for (const m of members) m.endPass?.();
  }
}

function newPass(members: readonly Backend[], options: PassOptions): Pass {
  const { sink } = options;
  return {
    members,
    options,
    started: performance.now(),
    now: Date.now(),
    writes: options.dryRun ? "read" : "write",
    exists: members.map(() => false),
    out: members.map(() => false),
    held: members.map(() => 0),
    scope: options.state ? normaliseScope(options.scope) : undefined,
    exclude: [...(options.exclude ?? [])],
    listings: [],
    failures: [],
    summary: { ...ZERO_SUMMARY },
    archived: [],
    release: () => {},
    warn: (message) => sink.emit({ event: "note", level: "warn", message }),
  };
}

async function passOf<S, V, I, P extends Plan>(pass: Pass, kind: Kind<S, V, I, P>) {
  const { members, options: o } = pass;
  const { sink } = o;
  await kind.roots(pass);
  const writers = (i: number) => kind.writes(i) && !pass.out[i] && pass.exists[i] === true;
  await recoverAll(pass, kind.writes);
  // A first copy from one source: the destination gets ready for it (copy Workers) while the
  // source is listed.
  const dst = members[1];
  const prepare = dst && !o.dryRun ? fastPath(dst, "prepareCopyFrom") : undefined;
  if (
    !kind.writes(0) && members.length === 2 && prepare &&
    (pass.exists[1] !== true || (fastPath(dst!, "isEmpty")?.() ?? false))
  ) pass.release = prepare(members[0]!);
  for (const [i, b] of members.entries()) {
    // Every member's patterns apply to all: one that cannot be read fails the pass.
    if (!pass.out[i] && pass.exists[i] === true) pass.exclude.push(...await readIgnoreFile(b));
  }
  const state = kind.readState(pass);
  pass.listings = await listAll(pass, kind, state);
  await kind.fillMeta(pass);
  const early = kind.listed(pass, state);
  if (early) return early;
  reportListings(pass);
  const { view, entries } = kind.view(pass, state);
  const tScan = performance.now();
  const wanted = kind.planner.wants(view);
  const hashes = await hashStage(
    members,
    entries,
    wanted.requests,
    (id) => kind.hashCache(state, members.findIndex((m) => m.id === id)),
    sink,
    !!o.checksum,
  );
  const tHash = performance.now();
  const plan = kind.planner.plan(view, hashes.byMember, wanted.index);
  const tPlan = performance.now();
  // The guards count the whole job: in a scoped pass, the files outside the scope are the ones
  // the state recorded there (a folder emptied on purpose is not an emptied member).
  const totals = entries.map((es, i) => {
    let n = pass.scope ? kind.outside(pass, state, i) : 0;
    for (const e of es) if (e.kind === "file") n++;
    return n;
  });
  kind.guards(pass, plan, totals);
  reportPlan(pass, plan);
  if (o.dryRun) return dryRun(pass, kind, plan);

  const toRun = await confirmDeletes(plan, o.confirmDelete, sink);
  const part = members.filter((_, i) => !pass.out[i]);
  // Returned, the writes are durable (an archive's directory): only then does the state record
  // them.
  const trash = (o.trashDays ?? TRASH_DAYS) > 0
    ? { run: runName(pass.now), now: pass.now }
    : undefined;
  const res = await executeDurably(toRun, members, members.filter((_, i) => writers(i)), {
    concurrency: Math.min(o.concurrency ?? 16, ...part.map((b) => b.caps.concurrency)),
    ...(o.retryDelay !== undefined ? { retryDelay: o.retryDelay } : {}),
    sink,
    // Nothing is deleted in a run where something could not even be listed.
    holdDeletes: pass.failures.length > 0,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(trash ? { trash } : {}),
  });
  const tExec = performance.now();
  if (state) kind.record(pass, state, toRun, res, hashes);
  if (trash) await expireTrashes(pass, res);
  const secs = (a: number, b: number) => ((b - a) / 1000).toFixed(3);
  sink.emit({
    event: "note",
    level: "debug",
    message: `timings: scan ${secs(pass.started, tScan)} s, hash ${secs(tScan, tHash)} s, plan ${
      secs(tHash, tPlan)
    } s, execute ${secs(tPlan, tExec)} s, state commit ${secs(tExec, performance.now())} s`,
  });
  return { ...tally(pass, toRun, res), ...kind.extras(pass, res) };
}

/**
 * The end of a successful pass: each location it kept something in the trash of drops the
 * runs kept longer than `--trash-days` (and, with a size cap, the oldest past it). Only those
 * locations: a pass that deleted and overwrote nothing never looks at a trash. A failure here
 * is reported and changes nothing of the pass.
 */
async function expireTrashes(pass: Pass, res: ExecResult): Promise<void> {
  const o = pass.options;
  if (res.failed > 0 || res.interrupted || res.deletesHeld) return;
  const touched = new Set<number>();
  for (const r of res.outcomes) {
    if (r.status === "done" && (r.op.op === "delete" || r.op.op === "update")) touched.add(r.op.at);
  }
  for (const at of touched) {
    const b = pass.members[at]!;
    try {
      await b.begin?.();
      const gone = await expireTrash(b, pass.now, o.trashDays ?? TRASH_DAYS, capOf(pass, at));
      await b.commit?.();
      if (gone.files > 0) {
        o.sink.emit({
          event: "note",
          level: "info",
          message: `Trash of ${b.display}: ${gone.files} file(s) of ${gone.runs} run(s) expired`,
        });
      }
    } catch (err) {
      await b.rollback?.().catch(() => {});
      pass.warn(`Cannot tidy the trash of ${b.display}: ${describeError(err)}`);
    }
  }
}

/**
 * `--trash-max` in bytes for one member: a share of what its listing holds (a whole pass's
 * only), or a size.
 */
function capOf(pass: Pass, at: number): number | undefined {
  const cap = pass.options.trashMax;
  if (!cap) return undefined;
  if ("bytes" in cap) return cap.bytes;
  // A scoped pass listed part of the location: its share waits for a whole pass.
  if (pass.scope) return undefined;
  let total = 0;
  for (const e of pass.listings[at]?.entries ?? []) total += e.size;
  return Math.floor(total * cap.percent / 100);
}

/**
 * Every member's listing. Members whose listing shows the times are walked (in Workers) while
 * the state is read for the others; two local folders are walked together (one pool of
 * walkers for both trees: faster).
 */
async function listAll<S, V, I, P extends Plan>(
  pass: Pass,
  kind: Kind<S, V, I, P>,
  state: S | undefined,
): Promise<Listing[]> {
  const { members, scope, exclude } = pass;
  const empty = (): Listing => ({ entries: [], problems: [], skipped: [] });
  const listable = (i: number) => !pass.out[i] && pass.exists[i] === true;
  const listOne = async (i: number): Promise<Listing> => {
    if (!listable(i)) return empty();
    const b = members[i]!;
    const lo: ListOptions = { exclude };
    if (scope) lo.under = scope;
    if (b.caps.modTime !== "stored") {
      // Where each time costs a request, or the backend keeps none, the state's record stands
      // in (valid while the stamp is the one recorded); slow stores are asked only for the
      // times the kind needs (fillMeta).
      const known = kind.known(pass, state, i);
      if (known) lo.known = known;
      if (b.caps.modTime === "slow") lo.lazyMeta = true;
    }
    try {
      return await b.list(lo);
    } catch (err) {
      kind.listFailed(pass, i, err);
      return empty();
    }
  };
  const early: (Promise<Listing> | undefined)[] = members.map(() => undefined);
  const pairable = members.map((b, i) =>
    !scope && listable(i) && b.caps.modTime === "stored" && !!fastPath(b, "listWith")
  );
  const first = pairable.indexOf(true);
  const second = pairable.indexOf(true, first + 1);
  if (first >= 0 && second >= 0) {
    const listWith = fastPath(members[first]!, "listWith")!;
    const both = listWith(members[second]!, { exclude }).catch(() => undefined);
    early[first] = both.then((r) => r?.[0] ?? listOne(first));
    early[second] = both.then((r) => r?.[1] ?? listOne(second));
  }
  members.forEach((b, i) => {
    if (!early[i] && b.caps.modTime === "stored") early[i] = listOne(i);
  });
  return await Promise.all(members.map((_, i) => early[i] ?? listOne(i)));
}

/** Each member's listing problems (failed) and special files (skipped), reported. */
function reportListings(pass: Pass): void {
  const { sink } = pass.options;
  pass.listings.forEach((l, i) => {
    const location = pass.members[i]!.display;
    for (const p of l.problems) {
      pass.failures.push({ path: p.key, error: p.message });
      sink.emit({ event: "fail", path: p.key, op: p.op ?? "list", error: p.message, location });
    }
    for (const s of l.skipped) {
      pass.summary.skipped++;
      sink.emit({ event: "skip", path: s.key, reason: s.reason, location });
    }
    pass.summary.failed += l.problems.length;
  });
}

/**
 * The plan's conflicts, reported. One rule for both kinds: a conflict the plan leaves
 * unresolved is a path the pass could not bring in step, counted in `failed` like an
 * operation that failed (and listed in `failures`); a mirror's conflict resolved by keeping
 * the loser as a copy is only counted in `conflicts`.
 */
function reportPlan(pass: Pass, plan: Plan & { resolved?: { path: string; message: string }[] }) {
  const { sink } = pass.options;
  for (const c of plan.conflicts) {
    pass.summary.conflicts++;
    pass.summary.failed++;
    pass.failures.push({ path: c.key, error: c.message });
    sink.emit({ event: "conflict", path: c.key, message: c.message });
  }
  for (const r of plan.resolved ?? []) {
    pass.summary.conflicts++;
    sink.emit({ event: "conflict", path: r.path, message: r.message });
  }
}

function dryRun<S, V, I, P extends Plan>(pass: Pass, kind: Kind<S, V, I, P>, plan: P): PassResult {
  const where = (op: Op) => pass.members[op.at]!.display;
  for (const op of opsOf(plan)) pass.options.sink.emit({ ...planEvent(op), location: where(op) });
  const c = countPlan({ steps: plan.steps, conflicts: [] });
  const { summary } = pass;
  Object.assign(summary, {
    copied: c.copied,
    updated: c.updated,
    moved: c.moved,
    deleted: c.deleted,
    bytes: c.bytes,
  });
  summary.seconds = (performance.now() - pass.started) / 1000;
  return {
    plan,
    summary,
    failures: pass.failures,
    interrupted: false,
    deletesHeld: false,
    archived: pass.archived,
    written: [],
    ...kind.extras(pass, undefined),
  };
}

/** The summary of what was done, from the executor's outcomes. */
function tally(pass: Pass, plan: Plan, res: ExecResult): PassResult {
  const { summary, failures } = pass;
  for (const o of res.outcomes) {
    const op = o.op;
    if (o.status === "failed") {
      failures.push({ path: op.op === "move" ? op.to : op.key, error: o.message ?? "failed" });
    }
    if (o.status !== "done") continue;
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
  summary.seconds = (performance.now() - pass.started) / 1000;
  return {
    plan,
    summary,
    failures,
    interrupted: res.interrupted,
    deletesHeld: res.deletesHeld,
    archived: pass.archived,
    written: writtenBy(res.outcomes),
  };
}
