/**
 * ferry's own files inside a local location are never part of a job. A ZIP location's archive
 * may sit in a folder of the same job (`ferry sync . zip:backup.zip`, as `zip -r backup.zip .`
 * does), and so may the state database or the log a user named. Synced, the archive went into
 * itself, and a sync from it back into its folder with `--delete` overwrote the archive with
 * the stale copy inside it and deleted what the stale copy lacked; the state was copied half
 * written, with SQLite's files beside it. So each of them, with the files ferry keeps beside it,
 * is left out of the job at its path below that folder, in every location, as `--exclude` does
 * (and a change to it does not wake `--watch`).
 *
 * @module
 */
import * as nodePath from "node:path";
import type { Location } from "../location.ts";
import { isOwnKey } from "../paths.ts";
import { realPathOf } from "./distinct.ts";
import { lockPathOf } from "./lock.ts";
import { ARCHIVE_LOG } from "./log_file.ts";
import { besideName, TEMP_TAGS } from "../backends/zip/names.ts";

const path = Deno.build.os === "windows" ? nodePath.win32 : nodePath.posix;

/** Files ferry itself writes during a run, by path (relative to the working folder or absolute). */
export interface OwnFiles {
  /** The state database. */
  state?: string;
  /** The log file of this run. */
  log?: string;
}

/**
 * A name as a gitignore pattern that matches that name only.
 *
 * @param name A path below a root, `/`-separated.
 * @returns It with every character that gitignore reads specially escaped.
 */
function literal(name: string): string {
  return name.replace(/[\\*?[\]!# ]/g, "\\$&");
}

/** `file` as a key below `folder` (both resolved, links followed), or undefined when outside. */
function keyWithin(folder: string, file: string): string | undefined {
  const rel = path.relative(realPathOf(folder), realPathOf(file));
  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join("/").normalize("NFC");
}

/**
 * The exclude patterns that keep ferry's own files out of a job: every ZIP location's archive
 * that sits inside a folder location of the job (with its journal, lock and temporary copies), and
 * the state database (with its SQLite files and run lock) and the log where they sit inside
 * one.
 *
 * @param locs The job's locations.
 * @param own The state and log paths of the run.
 * @returns Anchored gitignore patterns, keys below the folders they are in; none when nothing
 *   of ferry's is inside a folder location.
 * @example An archive inside the folder it backs up
 * ```ts
 * import assert from "node:assert/strict";
 * const dir = Deno.makeTempDirSync();
 * const locs = [
 *   { kind: "local", path: dir, text: dir },
 *   { kind: "zip", path: `${dir}/b.zip`, text: "zip:b.zip" },
 * ] as const;
 * assert.ok(ownFileExcludes(locs, {}).includes("/b.zip"));
 * Deno.removeSync(dir);
 * ```
 */
export function ownFileExcludes(locs: readonly Location[], own: OwnFiles): string[] {
  const out = new Set<string>();
  const folders = locs.filter((l) => l.kind === "local").map((l) => l.path);
  const each = (file: string | undefined, patterns: (key: string) => string[]) => {
    if (file === undefined) return;
    for (const f of folders) {
      const key = keyWithin(f, file);
      // What is in a .ferry folder is never walked: no pattern needed (nor the matcher).
      if (!key || isOwnKey(key)) continue;
      for (const p of patterns(key)) out.add(p);
    }
  };
  for (const l of locs) {
    if (l.kind !== "zip") continue;
    each(l.path, (key) => {
      // The files beside it, named as the backend names them.
      const slash = key.lastIndexOf("/");
      const beside = (what: "journal" | "lock") =>
        key.slice(0, slash + 1) + besideName(key.slice(slash + 1), what);
      return [
        `/${literal(key)}`,
        ...TEMP_TAGS.map((tag) => `/${literal(key + tag)}*`),
        `/${literal(beside("journal"))}`,
        `/${literal(beside("lock"))}`,
      ];
    });
  }
  each(own.state, (key) => {
    const slash = key.lastIndexOf("/");
    return [
      // SQLite's own files beside the database, and the run lock.
      ...[key, `${key}-wal`, `${key}-shm`, `${key}-journal`, lockPathOf(key)].map((k) =>
        `/${literal(k)}`
      ),
      `/${literal(key.slice(0, slash + 1) + ARCHIVE_LOG)}`,
    ];
  });
  each(own.log, (key) => [`/${literal(key)}`]);
  return [...out];
}
