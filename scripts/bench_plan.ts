/**
 * The planners alone, on synthetic listings (no storage, no state): `wants` then `plan`, the
 * median of 7 runs, for
 *
 * - a mirror of two members of 50,000 files in 500 folders, all in step (a no-op: the fast
 *   path), with 5% of the files edited on one member, and a first copy (every file on one
 *   member, none on the other, no state);
 * - a one-way sync of 50,000 pairs, all in step, and with 5% of the source files newer.
 *
 * `deno run -A scripts/bench_plan.ts [root...]`: each `root` is a ferry checkout whose planners
 * are timed (default: this one). Given several, their runs take turns within one process, so
 * that they share the machine's load; each prints its median wall time and the median CPU time
 * of the process (user + system), which other work on the machine disturbs less.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import type { Entry } from "../lib/backends/backend.ts";

import process from "node:process";

const roots = Deno.args.length > 0 ? Deno.args : [fileURLToPath(new URL("..", import.meta.url))];
const FILES = 50_000;
const RUNS = 7;
const T0 = Date.UTC(2026, 0, 1);

// Loaded from `root`: the planners' shapes differ between versions (`wants` returned the
// requests alone before it returned them with the index `plan` takes).
// deno-lint-ignore no-explicit-any
type Loose = any;
const planners: { root: string; mirror: Loose; oneWay: Loose }[] = [];
for (const root of roots) {
  planners.push({
    root,
    mirror: (await import(`${root}/lib/plan/mirror.ts`)).mirrorPlanner,
    oneWay: (await import(`${root}/lib/plan/one_way.ts`)).oneWayPlanner,
  });
}

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
  return mirrorOf(entries, holds, agreed);
}

/** The planner's input over two members with these listings and rows. */
function mirrorOf(
  entries: Entry[][],
  holds: Map<string, unknown>[],
  agreed: Map<string, unknown>,
): unknown {
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

/** A mirror's first pass: the first member holds every file, the second nothing, no state. */
function mirrorFirstInput(): unknown {
  const entries: Entry[][] = [[], []];
  for (let d = 0; d < FILES / 100; d++) {
    entries[0]!.push({ key: `d${d}`, kind: "dir", size: 0, mtime: 0 });
  }
  for (let i = 0; i < FILES; i++) {
    entries[0]!.push({
      key: fileKey(i),
      kind: "file",
      size: 100 + (i % 3900),
      mtime: T0 + i,
      ino: i + 1,
    });
  }
  return mirrorOf(entries, [new Map(), new Map()], new Map());
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `RUNS` plans by each planner in turn, each of an input made anew (nothing carried over):
 * the median wall and CPU times (ms) per planner, and the operations planned.
 */
function time(pick: (p: (typeof planners)[number]) => Loose, make: () => unknown) {
  const wall = planners.map(() => [] as number[]);
  const cpu = planners.map(() => [] as number[]);
  const ops = planners.map(() => 0);
  for (let r = 0; r < RUNS; r++) {
    planners.forEach((p, i) => {
      const input = make();
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const plan = wantsAndPlan(pick(p), input) as { steps: { ops: unknown[] }[] };
      wall[i]!.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu[i]!.push((c.user + c.system) / 1000);
      ops[i] = plan.steps.reduce((n, s) => n + s.ops.length, 0);
    });
  }
  return planners.map((_, i) => ({ wall: median(wall[i]!), cpu: median(cpu[i]!), ops: ops[i]! }));
}

const cases: [string, (p: (typeof planners)[number]) => Loose, () => unknown][] = [
  ["mirror, in step", (p) => p.mirror, () => mirrorInput(0)],
  ["mirror, 5% changed", (p) => p.mirror, () => mirrorInput(5)],
  ["mirror, first copy", (p) => p.mirror, mirrorFirstInput],
  ["one-way, in step", (p) => p.oneWay, () => oneWayInput(0)],
  ["one-way, 5% changed", (p) => p.oneWay, () => oneWayInput(5)],
];
for (const [name, pick, make] of cases) {
  time(pick, make).forEach((t, i) => {
    const who = planners.length > 1 ? `  ${planners[i]!.root}` : "";
    console.log(
      `${name.padEnd(20)} ${t.wall.toFixed(1).padStart(7)} ms wall ${
        t.cpu.toFixed(1).padStart(7)
      } ms CPU  (${t.ops} operations)${who}`,
    );
  });
}
