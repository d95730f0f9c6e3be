/**
 * `ferry trash restore`: versions put back from a location's trash, byte for byte and with
 * their times, at their paths or into another location. Every check is made before anything
 * changes: a bad request changes nothing.
 *
 * @module
 */
import type { Backend, Entry } from "../backends/backend.ts";
import { SafetyError, UsageError } from "../errors.ts";
import { transfer } from "../execute/transfer.ts";
import { runName, trashKey, writeManifest } from "./layout.ts";
import { listTrash, matchingTrash, type TrashItem } from "./trash.ts";

/** Options of {@linkcode restoreFromTrash}. */
export interface RestoreOptions {
  /** Only versions kept by a run whose time begins so (`2026-12-08`, `2026-12-08T10:15`). */
  from?: string;
  /** Restore into this location instead (the trash is left as it is). */
  to?: Backend;
  /** Put a version back over a newer file (that file is kept in the target's trash first). */
  force?: boolean;
  /** The time of this restore (names the trash run of the files it replaces). */
  now?: number;
}

/** One version put back. */
export interface Restored {
  /** Where it was put back. */
  path: string;
  /** The run it was kept by. */
  run: string;
  /** Its bytes. */
  size: number;
  /** Where the file it replaced went, if one was there. */
  replaced?: string;
}

/**
 * The run names a `--from` value stands for: a run's name or any beginning of it, written with
 * `:` or `-` between hours, minutes and seconds.
 */
function fromMatches(from: string): (run: string) => boolean {
  const want = from.replaceAll(":", "-");
  return (run) => run.startsWith(want);
}

/**
 * The newest version of each path matching `pattern` (a path, a folder, or a gitignore-style
 * glob such as `*.txt` or `docs/**`).
 */
async function choose(
  b: Backend,
  pattern: string,
  from: string | undefined,
): Promise<TrashItem[]> {
  const items = await listTrash(b);
  const matching = await matchingTrash(items, pattern);
  if (matching.length === 0) {
    throw new UsageError(`Nothing in the trash of "${b.display}" matches "${pattern}"`);
  }
  let pick = matching;
  if (from !== undefined) {
    const ok = fromMatches(from);
    pick = matching.filter((i) => ok(i.run));
    if (pick.length === 0) {
      const runs = [...new Set(matching.map((i) => i.run))].slice(-3).join(", ");
      throw new UsageError(
        `No version of "${pattern}" in the trash of "${b.display}" is from "${from}" (kept: ${runs})`,
      );
    }
  }
  const newest = new Map<string, TrashItem>();
  for (const i of pick) {
    const had = newest.get(i.path);
    if (!had || had.time <= i.time) newest.set(i.path, i);
  }
  return [...newest.values()];
}

/**
 * Put versions back from a location's trash.
 *
 * @param b The location whose trash holds them (opened for writing).
 * @param pattern A path, a folder or a glob.
 * @param options `from`, `to`, `force`.
 * @returns What was put back.
 * @throws {UsageError} When nothing matches, or nothing from `from` does.
 * @throws {SafetyError} When a newer file is at a path and `force` is not given.
 */
export async function restoreFromTrash(
  b: Backend,
  pattern: string,
  options: RestoreOptions = {},
): Promise<Restored[]> {
  const chosen = await choose(b, pattern, options.from);
  const target = options.to ?? b;
  const plan: { item: TrashItem; version: Entry; current: Entry | undefined }[] = [];
  for (const item of chosen) {
    const version = await b.stat(item.key);
    if (!version) throw new UsageError(`"${item.path}" is no longer in the trash`);
    const current = await target.stat(item.path);
    if (current?.kind === "dir") {
      throw new SafetyError(`Cannot restore "${item.path}": a folder of that name is there`);
    }
    if (current && current.mtime > version.mtime && !options.force) {
      throw new SafetyError(
        `"${item.path}" in "${target.display}" is newer than the version in the trash (${item.run}); ` +
          `add --force to put it back anyway (the newer file is then kept in the trash)`,
      );
    }
    plan.push({ item, version, current });
  }
  const now = options.now ?? Date.now();
  const run = runName(now);
  const replaced = new Map<string, "overwritten">();
  const out: Restored[] = [];
  await target.begin?.();
  try {
    for (const { item, version, current } of plan) {
      const r: Restored = { path: item.path, run: item.run, size: item.size };
      if (current) {
        // What is there now is kept, as any overwrite is.
        r.replaced = trashKey(run, item.path);
        await moveWithin(target, item.path, r.replaced);
        replaced.set(item.path, "overwritten");
      }
      if (target === b) await moveWithin(b, item.key, item.path);
      else {
        await transfer(b, item.key, target, item.path, {
          size: version.size,
          mtime: version.mtime,
        });
      }
      out.push(r);
    }
    if (replaced.size > 0) await writeManifest(target, run, replaced, now);
    await target.commit?.();
  } catch (err) {
    await target.rollback?.().catch(() => {});
    throw err;
  }
  return out;
}

/** A file renamed within a location (read and written anew where it cannot rename). */
async function moveWithin(b: Backend, from: string, to: string): Promise<void> {
  if (b.move) {
    await b.move(from, to);
    return;
  }
  const e = await b.stat(from);
  if (!e) throw new Deno.errors.NotFound(`"${from}" is gone`);
  await b.write(to, await b.read(from), { size: e.size, mtime: e.mtime });
  await b.remove(from);
}
