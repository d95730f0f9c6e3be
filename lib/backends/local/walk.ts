/**
 * The local tree walker. It uses Deno's synchronous calls on purpose: on these machines each
 * syscall is expensive and the async ones cost 2–10× more for the same walk.
 *
 * Several trees (a source and its replica) are walked together by two threads, the calling
 * one and a Worker (`walk_worker.ts`), which take folders from one shared queue: neither sits
 * idle while the other still has work, and a single large tree (a first copy) is walked by
 * both.
 *
 * @module
 */
import { FERRY_DIR } from "../../paths.ts";
import { type ExcludeFn, loadFilter } from "../../scan/filter.ts";
import { findTree, findUsable } from "./find_walk.ts";
import { Collector, type RawTree, triage } from "./tree.ts";

export type { RawTree } from "./tree.ts";

/** Why a name that is not UTF-8 fails: Deno cannot name such a file to the OS. */
export const NOT_UTF8 = "name is not UTF-8: ferry cannot open it (rename it to back it up)";

const SEP = Deno.build.os === "windows" ? "\\" : "/";

function byName(a: Deno.DirEntry, b: Deno.DirEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * List one folder: its entries go into `out`, its subfolders (to walk next) are returned.
 *
 * @throws Only for the root folder (`rel === ""`); other failures become problems.
 */
function listDir(root: string, rel: string, skip: ExcludeFn | undefined, out: Collector): string[] {
  const dirPath = rel === "" ? root : root + SEP + (SEP === "/" ? rel : rel.replaceAll("/", SEP));
  let names: Deno.DirEntry[];
  try {
    // Sorted, so that walks of alike trees list entries in the same order and the planner
    // can pair them without a map (most file systems return hash or creation order).
    names = [...Deno.readDirSync(dirPath)].sort(byName);
  } catch (err) {
    if (rel === "") throw err;
    if (!(err instanceof Deno.errors.NotFound)) { // vanished mid-walk: simply gone
      out.problems.push({ key: rel, message: err instanceof Error ? err.message : String(err) });
    }
    return [];
  }
  const subdirs: string[] = [];
  for (const d of names) {
    const name = d.name;
    const r = rel === "" ? name : rel + "/" + name;
    if (name === FERRY_DIR) continue; // ferry's own, at any depth
    const full = dirPath + SEP + name;
    const found = d.isSymlink ? "link" : d.isDirectory ? "dir" : d.isFile ? "file" : "other";
    const verdict = triage(r, found, skip, out);
    if (verdict === "temp") {
      try {
        out.temps.push({ key: r, mtime: Deno.lstatSync(full).mtime?.getTime() ?? 0 });
      } catch { /* gone already */ }
    }
    if (verdict !== "keep") continue;
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(full);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        // Deno hands out a name that is not UTF-8 with U+FFFD in it, which no call can open:
        // a file that cannot be backed up is a failure, never passed over as if it had vanished.
        if (name.includes("\uFFFD")) {
          out.problems.push({ key: r, message: NOT_UTF8 });
        }
        continue;
      }
      out.problems.push({ key: r, message: err instanceof Error ? err.message : String(err) });
      continue;
    }
    out.add(
      r,
      d.isDirectory,
      st.size,
      st.mtime?.getTime() ?? 0,
      st.ino ?? 0,
      st.dev ?? 0,
      st.mode ?? 0,
    );
    if (d.isDirectory) subdirs.push(r);
  }
  return subdirs;
}

/** Walk everything below the folder `rel` (not the folder's own entry) into `out`. */
function walkBelow(root: string, rel: string, skip: ExcludeFn | undefined, out: Collector): void {
  const stack = [rel];
  while (stack.length > 0) {
    const subdirs = listDir(root, stack.pop()!, skip, out);
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
}

function checkRoot(root: string): void {
  if (!Deno.statSync(root).isDirectory) {
    throw new Deno.errors.NotADirectory(`"${root}" is not a folder`);
  }
}

/** A folder of one tree, walked with everything below it by whichever thread claims it. */
export interface WalkTask {
  tree: number;
  rel: string;
}

/** What the walker Worker is sent. */
export interface WalkRequest {
  roots: string[];
  exclude: string[];
  tasks: WalkTask[];
  /** One Int32 a task: 0 unclaimed, 1 the calling thread's, 2 the Worker's. */
  owners: SharedArrayBuffer;
}

/** What the walker Worker answers: the tasks it claimed, by index. */
export type WalkReply = { ok: [number, RawTree][] } | { err: string; code: string };

/** Claim the next unclaimed task from `from` on, or -1. */
export function claimTask(owners: Int32Array, from: number, me: 1 | 2): number {
  for (let i = from; i < owners.length; i++) {
    if (Atomics.load(owners, i) === 0 && Atomics.compareExchange(owners, i, 0, me) === 0) return i;
  }
  return -1;
}

/**
 * Walk the tasks this thread can claim.
 *
 * @returns The claimed tasks' results, by task index.
 */
export function walkTasks(
  roots: readonly string[],
  tasks: readonly WalkTask[],
  owners: Int32Array,
  me: 1 | 2,
  skip: ExcludeFn | undefined,
): [number, RawTree][] {
  const done: [number, RawTree][] = [];
  for (let i = claimTask(owners, 0, me); i >= 0; i = claimTask(owners, i + 1, me)) {
    const t = tasks[i]!;
    const out = new Collector();
    walkBelow(roots[t.tree]!, t.rel, skip, out);
    done.push([i, out.done()]);
  }
  return done;
}

/** Folders a tree is cut into before the two threads share them out. */
const TASKS_PER_TREE = 16;
/** How deep the cutting goes looking for that many folders. */
const MAX_CUT_DEPTH = 3;

interface Walker {
  worker: Worker;
  /** Set when the Worker failed before it was given work (say, it could not load). */
  error?: string;
}

let spare: Walker | undefined;

function newWalker(): Walker {
  const w: Walker = {
    worker: new Worker(new URL("./walk_worker.ts", import.meta.url), { type: "module" }),
  };
  w.worker.onerror = (e) => {
    e.preventDefault();
    w.error = e.message;
  };
  return w;
}

/**
 * Start a walker Worker now, so that its start-up overlaps other set-up work; the next
 * {@linkcode walkTrees} uses it.
 */
export function prewarmWalker(): void {
  if (findUsable()) return; // find will most likely walk instead
  spare ??= newWalker();
}

/** Options of {@linkcode walkTrees}. */
export interface WalkOptions {
  /** Use the built-in walker even where `find` could walk. */
  builtin?: boolean;
  /** Leave every shared folder to the Worker (tests use it to exercise it); implies `builtin`. */
  workerOnly?: boolean;
}

/**
 * Walk several folder trees: on Linux each with GNU `find` in a process of its own
 * (`find_walk.ts`), elsewhere, or where that fails, with the built-in walker.
 *
 * @param roots Absolute OS paths of the root folders.
 * @param exclude gitignore-style patterns, applied to every tree.
 * @param options Testing knobs.
 * @returns One result a root, in the order given: every file and folder below it, each folder
 * before what it holds, symbolic links not followed, ferry's own folder and temp files left out.
 * @throws {Deno.errors.NotFound} When a root does not exist.
 */
export async function walkTrees(
  roots: readonly string[],
  exclude: readonly string[],
  options: WalkOptions = {},
): Promise<RawTree[]> {
  const skip = await loadFilter(exclude);
  for (const root of roots) checkRoot(root);
  const fast = options.builtin || options.workerOnly || !findUsable()
    ? []
    : await walkWithFind(roots, skip);
  const rest = roots.filter((_, i) => fast[i] === undefined);
  const slow = rest.length > 0 ? await walkBuiltin(rest, exclude, skip, options) : [];
  let next = 0;
  return roots.map((_, i) => fast[i] ?? slow[next++]!);
}

/** A root with more entries than this is not cut in two for `find` (its files are lstat'ed here). */
const MAX_HEAD = 1000;

/**
 * Walk trees with `find`: an empty root costs no process; a single tree with content (a first
 * copy) is cut in two by its top folders, one `find` for each half, so that both cores walk it;
 * otherwise one `find` a tree.
 *
 * @returns A tree for each root, undefined where `find` failed.
 */
function walkWithFind(
  roots: readonly string[],
  skip: ExcludeFn | undefined,
): Promise<(RawTree | undefined)[]> {
  const tops = roots.map((root) => {
    try {
      return [...Deno.readDirSync(root)].filter((e) => e.name !== FERRY_DIR);
    } catch {
      return undefined;
    }
  });
  const busy = tops.filter((t) => t !== undefined && t.length > 0).length;
  return Promise.all(roots.map(async (root, tree) => {
    const top = tops[tree];
    if (top === undefined) return undefined;
    if (top.length === 0) return new Collector().done();
    const folders = top.filter((e) => e.isDirectory).length;
    if (busy > 1 || folders < 2 || top.length > MAX_HEAD) return await findTree(root, skip);
    // The root's own entries are listed here; find walks what its folders hold.
    const head = new Collector();
    const subdirs = listDir(root, "", skip, head);
    const halves = [0, 1].map((h) => subdirs.filter((_, i) => i % 2 === h)).filter((x) =>
      x.length > 0
    );
    const parts = await Promise.all(halves.map((half) => findTree(root, skip, half)));
    if (parts.some((p) => p === undefined)) return undefined;
    return concatTrees([head.done(), ...parts as RawTree[]]);
  }));
}

/**
 * Walk several folder trees with two threads sharing the work.
 *
 * Each tree's top folders are listed first on the calling thread, until there are enough
 * folders to share; then the calling thread and a Worker each claim folders from that list
 * until none is left. A Worker that has claimed nothing by then is not waited for, so small
 * trees cost no more than a walk on one thread. Names inside a folder are listed sorted, so
 * walks of alike trees list them in the same order.
 */
async function walkBuiltin(
  roots: readonly string[],
  exclude: readonly string[],
  skip: ExcludeFn | undefined,
  options: WalkOptions,
): Promise<RawTree[]> {
  const heads: Collector[] = [];
  const tasks: WalkTask[] = [];
  roots.forEach((root, tree) => {
    const head = new Collector();
    heads.push(head);
    // Breadth first from the root until the frontier holds enough folders to share.
    let frontier = listDir(root, "", skip, head);
    for (let depth = 1; frontier.length < TASKS_PER_TREE && depth < MAX_CUT_DEPTH; depth++) {
      if (frontier.length === 0) break;
      const next: string[] = [];
      for (const rel of frontier) next.push(...listDir(root, rel, skip, head));
      frontier = next;
    }
    for (const rel of frontier) tasks.push({ tree, rel });
  });

  const parts = new Map<number, RawTree>();
  if (tasks.length > 0) {
    const owners = new Int32Array(new SharedArrayBuffer(tasks.length * 4));
    const reply = tasks.length >= 2 || options.workerOnly
      ? askWorker({ roots: [...roots], exclude: [...exclude], tasks, owners: owners.buffer })
      : undefined;
    if (!reply || !options.workerOnly) {
      for (const [i, t] of walkTasks(roots, tasks, owners, 1, skip)) parts.set(i, t);
    }
    if (reply) {
      // Everything is claimed by now (or, with workerOnly, will be by the Worker): wait only
      // when the Worker took a share.
      const workerHas = owners.some((o) => o === 2);
      if (workerHas || options.workerOnly) {
        try {
          for (const [i, t] of await reply.result) parts.set(i, t);
        } catch {
          // The Worker failed: what it claimed and did not return is walked here instead.
          for (let i = 0; i < owners.length; i++) {
            if (!parts.has(i)) Atomics.store(owners, i, 0);
          }
        }
      }
      reply.release();
      for (const [i, t] of walkTasks(roots, tasks, owners, 1, skip)) parts.set(i, t);
    }
  }

  return heads.map((head, tree) => {
    const pieces = [head.done()];
    tasks.forEach((t, i) => {
      if (t.tree === tree) pieces.push(parts.get(i)!);
    });
    return concatTrees(pieces);
  });
}

/** Send a request to a walker Worker; `release` ends it (its work is then done or moot). */
function askWorker(req: WalkRequest): { result: Promise<[number, RawTree][]>; release(): void } {
  const walker = spare ?? newWalker();
  spare = undefined;
  const worker = walker.worker;
  const result = new Promise<[number, RawTree][]>((resolve, reject) => {
    if (walker.error !== undefined) {
      reject(new Error(`Cannot start the folder walker: ${walker.error}`));
      return;
    }
    worker.onmessage = (e: MessageEvent<WalkReply>) => {
      const d = e.data;
      if ("ok" in d) resolve(d.ok);
      else {
        const ctor = (Deno.errors as unknown as Record<string, new (m: string) => Error>)[d.code] ??
          Error;
        reject(new ctor(d.err));
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`Cannot start the folder walker: ${e.message}`));
    };
    worker.postMessage(req);
  });
  // Unclaimed tasks are walked by the calling thread, so a failed Worker loses nothing.
  result.catch(() => {});
  return { result, release: () => worker.terminate() };
}

function concatTrees(pieces: RawTree[]): RawTree {
  if (pieces.length === 1) return pieces[0]!;
  const n = pieces.reduce((s, p) => s + p.paths.length, 0);
  const out: RawTree = {
    paths: [],
    dirs: new Uint8Array(n),
    sizes: new Float64Array(n),
    mtimes: new Float64Array(n),
    inos: new Float64Array(n),
    devs: new Float64Array(n),
    modes: new Uint32Array(n),
    nanos: new Uint32Array(n),
    problems: [],
    skipped: [],
    temps: [],
  };
  let at = 0;
  for (const p of pieces) {
    for (const x of p.paths) out.paths.push(x);
    out.dirs.set(p.dirs, at);
    out.sizes.set(p.sizes, at);
    out.mtimes.set(p.mtimes, at);
    out.inos.set(p.inos, at);
    out.devs.set(p.devs, at);
    out.modes.set(p.modes, at);
    out.nanos.set(p.nanos, at);
    at += p.paths.length;
    out.problems.push(...p.problems);
    out.skipped.push(...p.skipped);
    out.temps.push(...p.temps);
  }
  return out;
}
