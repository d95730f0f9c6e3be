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
export type { HashRow, JobState, StateChanges, StateRow, StateView } from "./lib/state/store.ts";
export { oneWay, syncOnce } from "./lib/sync.ts";
export { mirror, mirrorOnce } from "./lib/mirror.ts";
export type { MirrorOptions, MirrorResult } from "./lib/mirror.ts";
export type { Kind } from "./lib/pass/kind.ts";
export { Job } from "./lib/job.ts";
export type { JobOptions, PassLock, PassOutcome } from "./lib/job.ts";
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
export type { CheckOptions, CheckResult, Difference } from "./lib/check.ts";
export { main } from "./lib/cli/main.ts";
