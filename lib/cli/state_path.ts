/**
 * Where the state database and logs live by default. A sync: `.ferry/` at the root of a local
 * source that can hold it (it travels with a USB stick), otherwise the platform's state folder.
 * A mirror: always the platform's state folder, in a folder of its own named by the job, never
 * inside a member (a member that is unplugged would take the state with it, and the next run
 * would be a first run that brings back what was deleted).
 *
 * @module
 */
import * as nodePath from "node:path";
import { FERRY_DIR } from "../paths.ts";
import type { Location } from "../location.ts";
import { holdsJobInto, jobLastWritten } from "../state/move_job.ts";
import { redact } from "../secrets.ts";

const path = Deno.build.os === "windows" ? nodePath.win32 : nodePath.posix;

/**
 * The platform's folder for ferry's state: `$XDG_STATE_HOME/ferry` wherever that is set (so a
 * script, a test or the demo can move it on any system), else `~/.local/state/ferry`,
 * `~/Library/Application Support/ferry` or `%LOCALAPPDATA%\ferry`.
 *
 * @returns An absolute path (not created).
 */
export function platformStateDir(): string {
  const env = (k: string) => Deno.env.get(k);
  const xdg = env("XDG_STATE_HOME");
  if (xdg) return path.join(xdg, "ferry");
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  switch (Deno.build.os) {
    case "windows":
      return path.join(env("LOCALAPPDATA") ?? path.join(home, "AppData", "Local"), "ferry");
    case "darwin":
      return path.join(home, "Library", "Application Support", "ferry");
    default:
      return path.join(home, ".local", "state", "ferry");
  }
}

/** A chosen home for state and logs. */
export interface StateHome {
  /** The state database file. */
  db: string;
  /** Folder for timestamped logs. */
  logs: string;
  /** The folder the home is in: a location's root, or the platform's state folder. */
  root: string;
}

/**
 * Pick the state home of a one-way job: `.ferry/` at the root of its source where that is a
 * local folder that can hold it (it travels with the source, and a missing source is refused
 * anyway), otherwise a folder of the job's own in the platform's state folder, `sync-<16 hex
 * digits>/` (an older ferry's `state-<16 hex digits>.db` there is used where it exists). Never
 * the destination's `.ferry/`: a destination unplugged would take the state with it, and a
 * missing destination could no longer be told from a new one.
 *
 * @param locations The source, then the destination.
 * @param create Create the folder (false for runs that must change nothing).
 * @returns Where state and logs go.
 */
export async function chooseStateHome(
  locations: readonly Location[],
  create: boolean,
): Promise<StateHome> {
  const src = locations[0];
  if (src?.kind === "local") {
    const root = path.resolve(src.path);
    const dir = path.join(root, FERRY_DIR);
    try {
      let fits: boolean;
      if (create) {
        fits = Deno.statSync(root).isDirectory;
        if (fits) {
          Deno.mkdirSync(dir, { recursive: true });
          // Prove it is writable: read-only media fall through to the platform's folder.
          const probe = path.join(dir, ".write-test");
          Deno.writeTextFileSync(probe, "");
          Deno.removeSync(probe);
        }
      } else fits = Deno.statSync(dir).isDirectory;
      if (fits) return { db: path.join(dir, "state.db"), logs: path.join(dir, "logs"), root };
    } catch { /* not there, or read-only */ }
  }
  const { id, older } = await olderPlatformState(locations);
  try {
    if (Deno.statSync(older).isFile) {
      return { db: older, logs: path.join(platformStateDir(), "logs"), root: platformStateDir() };
    }
  } catch { /* none: the job's own folder */ }
  const names = locations.map((l) => l.kind === "local" ? path.resolve(l.path) : redact(l.text));
  return jobFolder(`sync-${id}`, `sync ${names.join(" > ")}`, create);
}

/**
 * Where an older ferry kept a job's state in the platform's state folder (any job without a local
 * folder that could hold it): `state-<16 hex digits>.db`, named by the locations in the order
 * given.
 */
async function olderPlatformState(
  locations: readonly Location[],
): Promise<{ id: string; older: string }> {
  // Loaded here only: node:crypto adds ~18 ms to start-up, and most jobs keep .ferry/ locally.
  const { createHash } = await import("node:crypto");
  const id = createHash("sha256").update(
    locations.map((l) => (l.kind === "local" ? path.resolve(l.path) : l.text)).join("\n"),
  ).digest("hex").slice(0, 16);
  return { id, older: path.join(platformStateDir(), `state-${id}.db`) };
}

/** Every order of the items (up to 5 of them: 120 orders), else the one given. */
function orders<T>(items: readonly T[]): T[][] {
  if (items.length > 5 || items.length < 2) return [[...items]];
  const out: T[][] = [];
  const build = (done: T[], left: T[]) => {
    if (left.length === 0) out.push(done);
    left.forEach((x, i) => build([...done, x], [...left.slice(0, i), ...left.slice(i + 1)]));
  };
  build([], [...items]);
  return out;
}

/** A job's own folder in the platform's state folder, with `job.txt` naming the job. */
function jobFolder(name: string, job: string, create: boolean): StateHome {
  const dir = path.join(platformStateDir(), name);
  if (create) {
    Deno.mkdirSync(dir, { recursive: true });
    const about = path.join(dir, "job.txt");
    const text = `ferry's state of the job ${job}\n`;
    try {
      if (Deno.readTextFileSync(about) !== text) throw new Error("stale");
    } catch {
      Deno.writeTextFileSync(about, text);
    }
  }
  return { db: path.join(dir, "state.db"), logs: path.join(dir, "logs"), root: dir };
}

/**
 * The state home of a mirror: `mirror-<16 hex digits>/` in the platform's state folder, named by
 * the job's key (its members, in a fixed order: the same mirror given in another order is the
 * same job), holding `state.db`, its lock and `logs/`, and `job.txt`, which names the members
 * for whoever looks into the folder.
 *
 * @param job The job's key (`mirrorKey`), which holds no password.
 * @param create Create the folder (false for runs that must change nothing).
 * @returns Where state and logs go.
 * @throws {Error} When the folder cannot be made.
 */
export async function mirrorStateHome(job: string, create: boolean): Promise<StateHome> {
  const { createHash } = await import("node:crypto");
  const id = createHash("sha256").update(job).digest("hex").slice(0, 16);
  return jobFolder(`mirror-${id}`, job, create);
}

/**
 * Where an older ferry kept a one-way job's state when its source could not hold it: `.ferry/`
 * at the root of a local destination, where it holds a job into that folder.
 *
 * @param locations The source, then the destination.
 * @returns The database's path, or undefined when there is none.
 */
export function legacySyncState(locations: readonly Location[]): string | undefined {
  const dst = locations[1];
  if (dst?.kind !== "local") return undefined;
  const root = path.resolve(dst.path);
  const db = path.join(root, FERRY_DIR, "state.db");
  // The ids the destination went by: its marker's, or its path where it had none.
  const ids = [`file:${root}`];
  try {
    const m = JSON.parse(Deno.readTextFileSync(path.join(root, FERRY_DIR, "location")));
    if (typeof m?.id === "string") ids.push(`local:${m.id}`);
  } catch { /* no marker */ }
  // Only a database that holds a job into this folder: one that is there because the folder is
  // another job's source is not this job's.
  return holdsJobInto(db, ids) ? db : undefined;
}

/**
 * A mirror's state where an older ferry kept it: `.ferry/state.db` in a local member's root
 * that holds this job, or (where no member could hold it) `state-<16 hex digits>.db` in the
 * platform's state folder, named by the members in the order given then. Where several hold the
 * job, the one whose rows are newest (the one the last run used: the old default was the first
 * member in the order given, which may have changed).
 *
 * @param job The job's key.
 * @param locations The members.
 * @returns The database's path, or undefined when no member holds the job.
 */
export async function legacyMirrorState(
  job: string,
  locations: readonly Location[],
): Promise<string | undefined> {
  let best: { db: string; at: number } | undefined;
  const places = locations.filter((l) => l.kind === "local").map((l) =>
    path.join(path.resolve(l.path), FERRY_DIR, "state.db")
  );
  // Named by the order given then, which may not be today's: every order of up to 5 members.
  for (const order of orders(locations)) places.push((await olderPlatformState(order)).older);
  for (const db of places) {
    try {
      if (!Deno.statSync(db).isFile) continue;
    } catch {
      continue;
    }
    const at = jobLastWritten(db, job);
    if (at !== undefined && (!best || at > best.at)) best = { db, at };
  }
  return best?.db;
}
