/**
 * A kind of pass: what tells a one-way sync from a mirror. {@linkcode Job} runs a kind pass
 * after pass and knows nothing else of it; `runPass` (`lib/pass/run.ts`) is the one pass both
 * kinds share, and asks the kind only where they differ.
 *
 * @module
 */
import type { Backend, Entry, KnownFile, Listing } from "../backends/backend.ts";
import type { ExecResult } from "../execute/execute.ts";
import type { Plan, Planner } from "../plan/types.ts";
import type { Hashes } from "./hash_stage.ts";
import type { PassOptions } from "./options.ts";
import type { PassResult } from "./result.ts";
import type { Summary } from "./summary.ts";
import type { HashRow } from "../state/store.ts";

/** @internal One pass under way: what every stage of `runPass` reads and adds to. */
export interface Pass {
  readonly members: readonly Backend[];
  readonly options: PassOptions;
  /** `performance.now()` when the pass began (timings). */
  readonly started: number;
  /** `Date.now()` when the pass began (rows record it: a file born later is not one they saw). */
  readonly now: number;
  /** How members that are written are opened (`read` in a dry run). */
  readonly writes: "read" | "write";
  /** Per member: `true` (its root is there), `false` (missing), or what opening it threw. */
  exists: unknown[];
  /** Members that sit this round out (a mirror's unplugged stick). */
  out: boolean[];
  /** Files each member held when the job last recorded it (filled by a kind that asks). */
  held: number[];
  /** The subtrees listed (with state only: without it, nothing counts the whole job). */
  scope: readonly string[] | undefined;
  /** Patterns left out everywhere: the options' and every root's `.ferryignore`. */
  exclude: string[];
  /** Each member's listing (empty for one not listed). */
  listings: Listing[];
  failures: PassResult["failures"];
  summary: Summary;
  /** Entries in an archive tier (or of a time that could not be read), left alone. */
  archived: string[];
  /** Ends what the pass set up before listing (a first copy's Workers). */
  release: () => void;
  /** A warning for the user. */
  warn(message: string): void;
}

/**
 * A kind of pass over a job's members (`oneWay` in `lib/sync.ts`, `mirror` in `lib/mirror.ts`):
 * its name, its job key, and where it differs from the other (the hooks `runPass` asks; they
 * are the engine's, marked internal).
 * `S` is the kind's state of one pass (its rows and what it read of them), `V` the planner's
 * view of the listings, `I` the index its planner's `wants` hands to its `plan`.
 */
export interface Kind<S = unknown, V = unknown, I = unknown, P extends Plan = Plan> {
  /** The command that runs it. */
  readonly name: "sync" | "mirror";
  /**
   * The job's identity in the state, from its members' ids (final once they are opened).
   *
   * @param members The job's locations (a sync: source first).
   */
  key(members: readonly Backend[]): string;
  /**
   * One pass over the members: `runPass(members, thisKind, options)`.
   *
   * @param members The job's locations (a sync: exactly two, source first).
   * @param options Flags, event sink, state store, scope.
   */
  pass(members: readonly Backend[], options: PassOptions): Promise<PassResult>;

  /** @internal Plans a pass from its view (called in one place only, `runPass`). */
  readonly planner: Planner<V, I, P>;
  /** @internal Whether the pass writes to member `i` (a sync only reads its source). */
  writes(i: number): boolean;
  /**
   * @internal Open the members' roots and decide about a root that is missing or cannot be
   * reached: refuse the pass (throw), sit the member out, or create it.
   */
  roots(pass: Pass): Promise<void>;
  /** @internal The job's state for this pass; undefined without a state store. */
  readState(pass: Pass): S | undefined;
  /** @internal What a member's listing may take from the state (files by key: slow times). */
  known(pass: Pass, state: S | undefined, i: number): ReadonlyMap<string, KnownFile> | undefined;
  /** @internal A listing that failed: throw (the pass fails), or sit the member out. */
  listFailed(pass: Pass, i: number, err: unknown): void;
  /** @internal Ask for the times the listings left out, where the kind needs them. */
  fillMeta(pass: Pass): Promise<void>;
  /**
   * @internal After listing: fold names, drop what the planner must not see, sit members out.
   * Returns a finished result when the pass can end here (nothing to do).
   */
  listed(pass: Pass, state: S | undefined): PassResult | undefined;
  /** @internal The planner's view of the listings, and each member's entries as it sees them. */
  view(pass: Pass, state: S | undefined): { view: V; entries: Entry[][] };
  /** @internal A member's hash cache (read at most once a pass). */
  hashCache(state: S | undefined, i: number): Map<string, HashRow> | undefined;
  /** @internal Files the state records for member `i` outside the scope (whole-job totals). */
  outside(pass: Pass, state: S | undefined, i: number): number;
  /**
   * @internal Refuse a plan that would do harm (throws `SafetyError`).
   *
   * @param totals Files in each member, the whole job's (never the scope's).
   */
  guards(pass: Pass, plan: P, totals: readonly number[]): void;
  /** @internal Derive what the pass changes in the state, and write it in one transaction. */
  record(pass: Pass, state: S, plan: P, res: ExecResult, hashes: Hashes): void;
  /** @internal What the kind adds to a result (a mirror: who took part, what it wrote). */
  extras(pass: Pass, res: ExecResult | undefined): Record<string, unknown>;
}
