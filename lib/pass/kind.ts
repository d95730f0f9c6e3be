/**
 * A kind of pass: what tells a one-way sync from a mirror. {@linkcode Job} runs a kind pass
 * after pass and knows nothing else of it.
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";
import type { PassOptions } from "./options.ts";
import type { PassResult } from "./result.ts";

/** A kind of pass over a job's members (`oneWay` in `lib/sync.ts`, `mirror` in `lib/mirror.ts`). */
export interface Kind {
  /** The command that runs it. */
  readonly name: "sync" | "mirror";
  /**
   * The job's identity in the state, from its members' ids (final once they are opened).
   *
   * @param members The job's locations (a sync: source first).
   */
  key(members: readonly Backend[]): string;
  /**
   * One pass over the members.
   *
   * @param members The job's locations (a sync: exactly two, source first).
   * @param options Flags, event sink, state store, scope.
   */
  pass(members: readonly Backend[], options: PassOptions): Promise<PassResult>;
}
