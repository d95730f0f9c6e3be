/**
 * The planners alone, on synthetic listings (no storage, no state): `wants` then `plan`, the
 * median of 7 runs, for
 *
 * - a mirror of two members of 50,000 files in 500 folders, all in step (a no-op: the fast
 *   path), and with 5% of the files edited on one member;
 * - a one-way sync of 50,000 pairs, all in step, and with 5% of the source files newer.
 *
 * `deno run -A scripts/bench_plan.ts [root]`: `root` is a ferry checkout whose planners are
 * timed (default: this one), so that two versions can be timed on the same machine in turn.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { Entry } from "../lib/backends/backend.ts";

const root = Deno.args[0] ?? fileURLToPath(new URL("..", import.meta.url));
const FILES = 50_000;
const RUNS = 7;
const T0 = Date.UTC(2026, 0, 1);

// Loaded from `root`: the planners' shapes differ between versions (`wants` returned the
// requests alone before it returned them with the index `plan` takes).
// deno-lint-ignore no-explicit-any
type Loose = any;
const mirror: Loose = await import(`${root}/lib/plan/mirror.ts`);
const oneWay: Loose = await import(`${root}/lib/plan/one_way.ts`);

/** Run a planner's two halves, whichever shape its `wants` answer has. */
function wantsAndPlan(planner: Loose, input: unknown): unknown {
  const w = planner.wants(input);
  const requests = Array.isArray(w) ? w : w.requests;
  if (requests.length > 0) throw new Error("the bench cases ask for no hashes");
  return Array.isArray(w) ? planner.plan(input, []) : planner.plan(input, [], w.index);
}

function fileKey(i: number): string {
  return `d${Math.floor(i / 100)}/f${i % 100}.txt`;
}

/** A mirror of two members; `changed` of every 100 files edited on the first. */
function mirrorInput(changed: number): unknown {
  const agreed = new Map<string, unknown>();
  const entries: Entry[][] = [[], []];
  const holds = [new Map<string, unknown>(), new Map<string, unknown>()];
  for (let d = 0; d < FILES / 100; d++) {
    const key = `d${d}`;
    agreed.set(key, { ver: 1, kind: "dir", size: -1, mtime: 0 });
    for (const [m, list] of entries.entries()) {
      list.push({ key, kind: "dir", size: 0, mtime: 0 });
      holds[m]!.set(key, { size: -1, mtime: 0, ino: 0, dev: 0, stamp: null, ver: 1, racy: false });
    }
  }
  for (let i = 0; i < FILES; i++) {
    const key = fileKey(i);
    const size = 100 + (i % 3900);
    const mtime = T0 + i;
    agreed.set(key, { ver: 1, kind: "file", size, mtime });
    for (const [m, list] of entries.entries()) {
      const edited = m === 0 && i % 100 < changed;
      list.push({ key, kind: "file", size, mtime: edited ? mtime + 60_000 : mtime, ino: i + 1 });
      holds[m]!.set(key, { size, mtime, ino: i + 1, dev: 0, stamp: null, ver: 1, racy: false });
    }
  }
  return {
    members: entries.map((list, m) => ({
      entries: list,
      holds: holds[m]!,
      label: `m${m}`,
      id: `id${m}`,
      dirs: true,
      canMove: true,
      timePrecision: 1,
      problems: [],
    })),
    agreed,
    checksum: false,
    now: T0 + 10 * 86_400_000,
  };
}

/** A one-way sync of `FILES` pairs; `changed` of every 100 source files newer. */
function oneWayInput(changed: number): unknown {
  const src: Entry[] = [];
  const dst: Entry[] = [];
  for (let d = 0; d < FILES / 100; d++) {
    src.push({ key: `d${d}`, kind: "dir", size: 0, mtime: 0 });
    dst.push({ key: `d${d}`, kind: "dir", size: 0, mtime: 0 });
  }
  for (let i = 0; i < FILES; i++) {
    const size = 100 + (i % 3900);
    const mtime = T0 + i;
    src.push({
      key: fileKey(i),
      kind: "file",
      size,
      mtime: i % 100 < changed ? mtime + 60_000 : mtime,
    });
    dst.push({ key: fileKey(i), kind: "file", size, mtime });
  }
  return { src, dst, modifyWindow: 1, foldCase: false, checksum: false, delete: true };
}

/** The median time (ms) of `RUNS` plans, each of an input made anew (nothing carried over). */
function time(planner: Loose, make: () => unknown): { ms: number; ops: number } {
  const times: number[] = [];
  let ops = 0;
  for (let r = 0; r < RUNS; r++) {
    const input = make();
    const t0 = performance.now();
    const plan = wantsAndPlan(planner, input) as { steps: { ops: unknown[] }[] };
    times.push(performance.now() - t0);
    ops = plan.steps.reduce((n, s) => n + s.ops.length, 0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(RUNS / 2)]!, ops };
}

const cases: [string, Loose, () => unknown][] = [
  ["mirror, in step", mirror.mirrorPlanner, () => mirrorInput(0)],
  ["mirror, 5% changed", mirror.mirrorPlanner, () => mirrorInput(5)],
  ["one-way, in step", oneWay.oneWayPlanner, () => oneWayInput(0)],
  ["one-way, 5% changed", oneWay.oneWayPlanner, () => oneWayInput(5)],
];
for (const [name, planner, make] of cases) {
  const { ms, ops } = time(planner, make);
  console.log(`${name.padEnd(22)} ${ms.toFixed(1).padStart(8)} ms  (${ops} operations)`);
}
