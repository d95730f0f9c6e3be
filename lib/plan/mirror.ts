/**
 * Planning a mirror: any number of locations made to agree, each path reconciled against what
 * the job last agreed (Unison's archive, kept in the state). A pure function of the listings,
 * each member's `holds` rows, the `agreed` rows and the hashes it asked for, in three parts:
 *
 * - **classify** (`mirror_classify.ts`): the paths sorted out once (those in step everywhere
 *   set apart), renames found, and per path each member's status against its hold row;
 * - **decide** (`mirror_decide.ts`): per path, a pure verdict — the winner, the losers kept as
 *   conflict copies, the deletions the holds prove — and its operations;
 * - **emit** (here): the verdicts' operations in ordered steps.
 *
 * @module
 */
import type { Entry } from "../backends/backend.ts";
import { isWithin } from "../paths.ts";
import type { AgreedRow, HoldRow } from "../state/mirror_state.ts";
import {
  classify,
  hashRequests,
  indexMirror,
  type MirrorIndex,
  renameMoves,
} from "./mirror_classify.ts";
import {
  decide,
  decideFolder,
  freeName,
  neededFolders,
  type StepName,
  type Verdict,
} from "./mirror_decide.ts";
import { mkdirSteps } from "./one_way.ts";
import type { HashRequest, Op, Plan, Planner, Step } from "./types.ts";

export { conflictName, FUTURE_SLACK, isConflictCopy } from "./mirror_decide.ts";
export type { MirrorIndex } from "./mirror_classify.ts";
/** The state rows the planner reads, declared with the state's schema. */
export type { AgreedRow, HoldRow };

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

/**
 * What the pass decided for one path, as the state records it: the agreed row after the pass
 * (`path`, `kind`, `ver`, `size`, `mtime`) and each member's fate.
 *
 * The decide step makes them (`mirror_decide.ts`: a verdict per path holds the path's decision
 * and one per losing version it kept as a conflict copy); the state writes them back
 * (`deriveMirror` in `lib/state/mirror_state.ts`).
 *
 * Invariants: `ver` grows by one whenever the agreed content or kind changes (a new winner, a
 * deletion agreed, a conflict copy made) and stays when members only catch up; size -1 is a
 * folder (removed or not), a file's deletion has size and time 0. A fate's operation is the
 * plan's own object (outcomes are matched to it by identity); a member whose fate is `holds`
 * holds exactly the decided version, so its hold is written with `ver`; an undefined fate
 * leaves the member's hold row as it is (it sat out, could not be read, or nothing changed for
 * it).
 */
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
 * The mirror planner: asks for the hashes that tell versions of one size apart and that prove
 * a rename by content, then plans.
 */
export const mirrorPlanner: Planner<MirrorInput, MirrorIndex, MirrorPlan> = {
  wants(input: MirrorInput): { requests: HashRequest[]; index: MirrorIndex } {
    const index = indexMirror(input);
    return { requests: hashRequests(input, index), index };
  },
  plan(
    input: MirrorInput,
    hashes: readonly ReadonlyMap<string, string>[],
    index: MirrorIndex,
  ): MirrorPlan {
    return planMirror({ ...input, hashes }, index);
  },
};

/**
 * Plan a mirror pass: classify each path that is not in step everywhere, decide it, then its
 * folders; emit the operations in steps.
 *
 * @param input Listings, holds, agreed rows, options.
 * @param index The paths sorted out (what `mirrorPlanner.wants` returned for this input).
 * @returns Steps to run, what to record, the conflicts resolved and those left.
 */
export function planMirror(
  input: MirrorInput,
  index: MirrorIndex = indexMirror(input),
): MirrorPlan {
  // Renames first: a member that moves a file in place needs no copy of it.
  const { moves, byMember: moved } = renameMoves(input, index);
  /** Files that will exist after the pass, by member: their folders are needed. */
  const willHold = input.members.map(() => new Set<string>());
  /** Paths that are a file in one member and a folder in another: left alone, with all below. */
  const clashes: string[] = [];
  const belowClash = (key: string) => clashes.some((c) => isWithin(key, c));
  /** Conflict copy names given out this pass. */
  const taken = new Set<string>();
  const files = index.members.map((m) => m.files);
  const copyName = (name: string, version: Entry) => {
    const free = freeName(name, version, files, taken);
    taken.add(free);
    return free;
  };
  const verdicts: Verdict[] = [];
  for (const key of index.slow) {
    if (belowClash(key)) continue;
    const v = decide(classify(input, index, moved, key), { input, copyName });
    if (v.conflict) clashes.push(key);
    for (const [at, k] of v.holds) willHold[at]!.add(k);
    verdicts.push(v);
  }
  const needed = neededFolders(input, index, willHold);
  const folders = new Set(index.dirs);
  for (const s of needed) for (const d of s) folders.add(d);
  for (const key of [...folders].sort()) {
    if (!belowClash(key)) verdicts.push(decideFolder(key, { input, index, moved, needed }));
  }
  return {
    steps: emit(verdicts, moves),
    conflicts: verdicts.flatMap((v) => v.conflict ? [v.conflict] : []),
    destFiles: 0,
    decisions: verdicts.flatMap((v) => v.decisions),
    resolved: verdicts.flatMap((v) => v.resolved ? [v.resolved] : []),
    filesPerMember: input.members.map((m) => m.entries.filter((e) => e.kind === "file").length),
  };
}

/**
 * Emit: the verdicts' operations in the order they run. Folders are made first (a parent before
 * its children), losing versions kept, renames moved, transfers made; then, guarded, a losing
 * version is overwritten only once every copy of the losers has been made, deletions, and
 * folders removed deepest first, one by one.
 *
 * @param verdicts The verdicts, in path order (their operations keep it within a step).
 * @param moves The renames' moves.
 * @returns The steps, empty ones left out.
 */
function emit(verdicts: readonly Verdict[], moves: Op[]): Step[] {
  const by: Record<StepName, Op[]> = {
    mkdir: [],
    keep: [],
    move: moves,
    transfer: [],
    replace: [],
    delete: [],
    rmdir: [],
  };
  for (const v of verdicts) for (const { step, op } of v.ops) by[step].push(op);
  const keyOf = (o: Op) => o.op === "move" ? o.to : o.key;
  by.rmdir.sort((x, y) => keyOf(y).localeCompare(keyOf(x)));
  const steps: Step[] = [
    ...mkdirSteps(by.mkdir),
    { name: "keep", ops: by.keep, parallel: true },
    { name: "move", ops: by.move, parallel: true },
    { name: "transfer", ops: by.transfer, parallel: true },
    { name: "replace", ops: by.replace, parallel: true, guarded: true },
    { name: "delete", ops: by.delete, parallel: true, guarded: true },
    { name: "rmdir", ops: by.rmdir, parallel: false, guarded: true },
  ];
  return steps.filter((s) => s.ops.length > 0);
}
