/**
 * A location's trash, read and tidied: what is in it (`ferry trash list`), and expired runs
 * removed (`ferry trash purge`, and the end of a pass that kept something there).
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";
import { UsageError } from "../errors.ts";
import { isWithin, parentKey } from "../paths.ts";
import { loadFilter } from "../scan/filter.ts";
import { manifestKey, readManifest, runTime, TRASH_DIR, type TrashWhy } from "./layout.ts";

/** One version kept in a trash. */
export interface TrashItem {
  /** The run that kept it (its folder's name). */
  run: string;
  /** When that run was, ms since the epoch. */
  time: number;
  /** The path it had (and is restored to). */
  path: string;
  /** Its key in the location (below `.ferry/trash/`). */
  key: string;
  /** Bytes. */
  size: number;
  /** Why it was kept; `unknown` where the run was cut short before it wrote its record. */
  why: TrashWhy | "unknown";
}

/**
 * Every version in a location's trash, oldest run first.
 *
 * @param b The location (opened).
 * @returns The versions.
 * @throws {UsageError} When the location cannot list its own folders.
 */
export async function listTrash(b: Backend): Promise<TrashItem[]> {
  if (!b.listOwn) throw new UsageError(`Location "${b.display}" keeps no trash`);
  const items: TrashItem[] = [];
  const prefix = TRASH_DIR + "/";
  for (const e of await b.listOwn(TRASH_DIR)) {
    const rest = e.key.startsWith(prefix) ? e.key.slice(prefix.length) : "";
    const slash = rest.indexOf("/");
    if (slash <= 0) continue; // a run's record, or a stray file
    const run = rest.slice(0, slash);
    const time = runTime(run);
    if (Number.isNaN(time)) continue;
    items.push({
      run,
      time,
      path: rest.slice(slash + 1),
      key: e.key,
      size: e.size,
      why: "unknown",
    });
  }
  const runs = [...new Set(items.map((i) => i.run))];
  const why = new Map(
    await Promise.all(runs.map(async (r) => [r, await readManifest(b, r)] as const)),
  );
  for (const it of items) it.why = why.get(it.run)?.[it.path] ?? "unknown";
  items.sort((a, b) => a.time - b.time || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return items;
}

/**
 * The versions a path names (the file, or every file below the folder of that name) or a
 * gitignore-style glob does (`*.txt`, `docs/**`); only a glob loads the matcher.
 *
 * @param items A trash as listed.
 * @param pattern The path or glob.
 * @returns The versions it names.
 */
export async function matchingTrash(
  items: readonly TrashItem[],
  pattern: string,
): Promise<TrashItem[]> {
  const clean = pattern.replace(/^\/+|\/+$/g, "");
  if (clean === "") return [...items];
  const glob = /[*?[]/.test(clean) ? await loadFilter([clean]) : undefined;
  return items.filter((i) => isWithin(i.path, clean) || !!glob?.(i.path, false));
}

/** What a purge removed. */
export interface Purged {
  /** Kept versions removed. */
  files: number;
  /** Their bytes. */
  bytes: number;
  /** Runs they were kept by. */
  runs: number;
}

/**
 * Remove the runs kept before a time: their files, their records and their folders.
 *
 * @param b The location (opened).
 * @param before Runs older than this (ms since the epoch) go.
 * @param items The trash as listed, when the caller has it.
 * @returns What was removed.
 */
export async function purgeTrash(
  b: Backend,
  before: number,
  items?: readonly TrashItem[],
): Promise<Purged> {
  const old = (items ?? await listTrash(b)).filter((i) => i.time < before);
  const runs = new Set(old.map((i) => i.run));
  const out: Purged = { files: 0, bytes: 0, runs: runs.size };
  if (old.length === 0) return out;
  for (const it of old) {
    await b.remove(it.key);
    out.files++;
    out.bytes += it.size;
  }
  for (const run of runs) await b.remove(manifestKey(run)).catch(() => {});
  if (b.caps.dirs) {
    const dirs = new Set<string>();
    for (const it of old) {
      for (let d = parentKey(it.key); d !== TRASH_DIR && d !== ""; d = parentKey(d)) dirs.add(d);
    }
    // Deepest first; a folder still holding something (a newer run's) stays.
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
      await b.rmdir(d).catch(() => {});
    }
  }
  return out;
}

/** The times of a trash's runs, from the names directly in it. */
async function runsOf(b: Backend): Promise<number[]> {
  const prefix = TRASH_DIR + "/";
  const times = new Set<number>();
  for (const e of await b.listOwn!(TRASH_DIR, true)) {
    const rest = e.key.startsWith(prefix) ? e.key.slice(prefix.length) : "";
    const t = runTime(rest.split("/", 1)[0]!);
    if (!Number.isNaN(t)) times.add(t);
  }
  return [...times];
}

/**
 * Keep a trash within its limits at the end of a pass: runs older than `days` removed, then,
 * with a size cap, the oldest runs until what is left fits.
 *
 * @param b The location.
 * @param now The pass's time.
 * @param days Days a run is kept.
 * @param maxBytes The most the trash may hold, when capped.
 * @returns What was removed.
 */
export async function expireTrash(
  b: Backend,
  now: number,
  days: number,
  maxBytes?: number,
): Promise<Purged> {
  let before = now - days * 86_400_000;
  // Most passes find nothing to expire: the runs' names tell, without a file listed.
  if (maxBytes === undefined && !(await runsOf(b)).some((t) => t < before)) {
    return { files: 0, bytes: 0, runs: 0 };
  }
  const items = await listTrash(b);
  if (maxBytes !== undefined) {
    const runs = [...new Set(items.map((i) => i.run))].reverse(); // newest first
    let total = 0;
    for (const run of runs) {
      const kept = items.filter((i) => i.run === run);
      total += kept.reduce((n, i) => n + i.size, 0);
      // The newest run always stays: it holds what this pass just kept.
      if (total > maxBytes && run !== runs[0]) {
        before = Math.max(before, kept[0]!.time + 1);
        break;
      }
    }
  }
  return await purgeTrash(b, before, items);
}
