/**
 * ferry as a library: the same engine the `ferry` command uses.
 *
 * @example Sync two in-memory locations
 * ```ts
 * import { MemoryBackend, syncOnce, silentSink } from "./mod.ts";
 * const src = new MemoryBackend({ name: "a" });
 * const dst = new MemoryBackend({ name: "b" });
 * const r = await syncOnce(src, dst, { sink: silentSink });
 * console.assert(r.summary.copied === 0);
 * ```
 *
 * @example Watch a folder: a file saved in it reaches the other, until the job is stopped
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { Job, LocalBackend, oneWay, silentSink } from "./mod.ts";
 * const src = await Deno.makeTempDir();
 * const dst = await Deno.makeTempDir();
 * const stop = new AbortController();
 * let passes = 0;
 * const job = new Job([new LocalBackend(src), new LocalBackend(dst)], oneWay, {
 *   sink: silentSink,
 *   signal: stop.signal,
 *   afterPass: () => passes++,
 * });
 * // Runs passes as changes come (a mirror: `new Job([a, b, c], mirror, …)` watches every member).
 * const watching = job.watch();
 * // Wait for a condition, looking every 20 ms, for a minute at most (a busy machine is slow).
 * const until = async (what: string, cond: () => boolean) => {
 *   const deadline = Date.now() + 60_000;
 *   while (!cond()) {
 *     if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
 *     await new Promise((r) => setTimeout(r, 20));
 *   }
 * };
 * const has = (path: string) => {
 *   try {
 *     return Deno.readTextFileSync(path) === "hello";
 *   } catch {
 *     return false;
 *   }
 * };
 * let last;
 * try {
 *   await until("the first pass is done", () => passes > 0);
 *   await Deno.writeTextFile(join(src, "hello.txt"), "hello");
 *   await until("the file is in the other folder", () => has(join(dst, "hello.txt")));
 * } finally {
 *   stop.abort(); // the watch ends, and with it the pass under way
 *   last = await watching;
 *   for (const m of job.members) await m.close();
 *   await Deno.remove(src, { recursive: true });
 *   await Deno.remove(dst, { recursive: true });
 * }
 * assert.equal(last?.kind, "done");
 * ```
 *
 * @module
 */
export type {
  Backend,
  BulkCopy,
  BulkFile,
  BulkResult,
  Capabilities,
  Entry,
  KnownFile,
  Listing,
  ListOptions,
  ListProblem,
  ModTimeModel,
  UploadJournal,
  WriteMeta,
} from "./lib/backends/backend.ts";
export { LocalBackend } from "./lib/backends/local.ts";
export type { LocalOptions } from "./lib/backends/local.ts";
export { MemoryBackend } from "./lib/backends/memory.ts";
export type { MemoryOptions } from "./lib/backends/memory.ts";
export { openLocation } from "./lib/backends/open.ts";
export type { OpenOptions } from "./lib/backends/open.ts";
export { parseLocation } from "./lib/location.ts";
export type { Location } from "./lib/location.ts";
export { planOneWay } from "./lib/plan/one_way.ts";
export type { OneWayInput, PriorState } from "./lib/plan/one_way.ts";
export type { Conflict, Expect, Op, Plan, Step } from "./lib/plan/types.ts";
export { opsOf } from "./lib/plan/types.ts";
export { StateStore } from "./lib/state/store.ts";
export type {
  HashRow,
  JobState,
  RowDigest,
  StateChanges,
  StateRow,
  StateView,
} from "./lib/state/store.ts";
export { oneWay, syncOnce } from "./lib/sync.ts";
export { mirror, mirrorOnce } from "./lib/mirror.ts";
export type { MirrorOptions, MirrorResult } from "./lib/mirror.ts";
export type { Kind } from "./lib/pass/kind.ts";
export { Job } from "./lib/job.ts";
export type { JobOptions, PassLock, PassOutcome, WatchJobOptions, WatchStart } from "./lib/job.ts";
export type { SyncOptions, SyncResult } from "./lib/sync.ts";
export type { Summary } from "./lib/pass/summary.ts";
export type { DeleteLimit } from "./lib/pass/delete_limit.ts";
export type { PassOptions } from "./lib/pass/options.ts";
export type { PassResult, Written } from "./lib/pass/result.ts";
export { silentSink } from "./lib/execute/events.ts";
export type { EventOrigin, EventSink, SyncEvent } from "./lib/execute/events.ts";
export {
  ExitCode,
  LocationError,
  RunError,
  SafetyError,
  StalledError,
  UsageError,
} from "./lib/errors.ts";
export { checkLocations } from "./lib/check.ts";
export { listTrash, matchingTrash, purgeTrash } from "./lib/trash/trash.ts";
export type { Purged, TrashItem } from "./lib/trash/trash.ts";
export { restoreFromTrash } from "./lib/trash/restore.ts";
export type { Restored, RestoreOptions } from "./lib/trash/restore.ts";
export type { TrashWhy } from "./lib/trash/layout.ts";
export type { CheckOptions, CheckResult, Difference } from "./lib/check.ts";
export { main } from "./lib/cli/main.ts";
