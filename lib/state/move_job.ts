/**
 * Moving one job's state out of a database that holds others. An older ferry kept a mirror's
 * state in `.ferry/state.db` at a member's root, beside the state of every other job that used
 * that folder (a `sync` from it) and the folder's hash cache; a newer ferry keeps it in the
 * platform's state folder. The job moves, the rest stays: the move is a copy of the database
 * (`VACUUM INTO`, a consistent snapshot even while another run uses it) with the other jobs'
 * rows taken out, put in place by a rename, and only then the job's rows taken out of the old
 * database (a kill between the two leaves a stale copy there, which the new place never reads).
 *
 * @module
 */
import * as nodePath from "node:path";
import { DatabaseSync } from "node:sqlite";

/** The tables that hold a job's rows, by its integer id. */
const JOB_TABLES = ["holds", "agreed", "members", "digests"] as const;

/**
 * When a job of this database last recorded a pass: the newest time of its rows, 0 for a job
 * with none; undefined when the database does not hold the job (or is no ferry state of
 * schema 4, or cannot be read).
 *
 * @param db The database file.
 * @param job The job's key.
 * @returns Milliseconds since the epoch, or undefined.
 */
export function jobLastWritten(db: string, job: string): number | undefined {
  let conn: DatabaseSync;
  try {
    conn = new DatabaseSync(db, { readOnly: true });
  } catch {
    return undefined;
  }
  try {
    const v = conn.prepare("PRAGMA user_version").get() as { user_version: number };
    if (v.user_version !== 4) return undefined;
    const row = conn.prepare("SELECT id FROM jobs WHERE key = ?").get(job) as
      | { id: number }
      | undefined;
    if (!row) return undefined;
    const t = conn.prepare("SELECT max(synced_at) AS t FROM holds WHERE job = ?").get(row.id) as {
      t: number | null;
    };
    return t.t ?? 0;
  } catch {
    return undefined;
  } finally {
    conn.close();
  }
}

/**
 * Whether a database holds a one-way job into a location (its key ends with ` > <id>`).
 *
 * @param db The database file.
 * @param ids The ids the location may be known by.
 * @returns False too when the file is no ferry state of schema 4, or cannot be read.
 */
export function holdsJobInto(db: string, ids: readonly string[]): boolean {
  let conn: DatabaseSync;
  try {
    conn = new DatabaseSync(db, { readOnly: true });
  } catch {
    return false;
  }
  try {
    const v = conn.prepare("PRAGMA user_version").get() as { user_version: number };
    if (v.user_version !== 4) return false;
    const keys = conn.prepare("SELECT key FROM jobs WHERE kind = 'sync'").all() as {
      key: string;
    }[];
    return keys.some((k) => ids.some((id) => k.key.endsWith(` > ${id}`)));
  } catch {
    return false;
  } finally {
    conn.close();
  }
}

/**
 * Move a job's state from one database into a new one (which must not exist yet).
 *
 * @param from The database that holds the job (and maybe others).
 * @param to The new database's path; its folder must exist.
 * @param job The job's key.
 * @throws {Error} When the copy cannot be made; nothing is changed in `from` then.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StateStore } from "./store.ts";
 * const dir = Deno.makeTempDirSync();
 * const old = StateStore.open(`${dir}/old.db`);
 * old.forJob("sync A > B").apply([{ loc: "A", upserts: [{ path: "a", size: 1, mtime: 2, ino: 0, dev: 0, sha256: "ab", stamp: null, syncedAt: 5 }], deletes: [] }]);
 * old.forJob("mirror A > C").apply([{ loc: "A", upserts: [{ path: "m", size: 1, mtime: 2, ino: 0, dev: 0, sha256: "ab", stamp: null, syncedAt: 7 }], deletes: [] }]);
 * old.close();
 * assert.equal(jobLastWritten(`${dir}/old.db`, "mirror A > C"), 7);
 * moveJob(`${dir}/old.db`, `${dir}/new.db`, "mirror A > C");
 * assert.equal(jobLastWritten(`${dir}/new.db`, "mirror A > C"), 7);
 * assert.equal(jobLastWritten(`${dir}/new.db`, "sync A > B"), undefined);
 * assert.equal(jobLastWritten(`${dir}/old.db`, "mirror A > C"), undefined);
 * assert.equal(jobLastWritten(`${dir}/old.db`, "sync A > B"), 5);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function moveJob(from: string, to: string, job: string): void {
  snapshotInto(from, to, "moving", (copy) => {
    const id = (copy.prepare("SELECT id FROM jobs WHERE key = ?").get(job) as { id: number }).id;
    copy.exec("BEGIN");
    for (const t of JOB_TABLES) {
      if (exists(copy, t)) copy.prepare(`DELETE FROM ${t} WHERE job <> ?`).run(id);
    }
    copy.prepare("DELETE FROM jobs WHERE id <> ?").run(id);
    copy.exec("COMMIT");
  });
  // The new place has it: the old one forgets it (the other jobs there are left as they are).
  const old = new DatabaseSync(from);
  try {
    old.exec("PRAGMA busy_timeout = 5000");
    const row = old.prepare("SELECT id FROM jobs WHERE key = ?").get(job) as
      | { id: number }
      | undefined;
    if (!row) return;
    old.exec("BEGIN IMMEDIATE");
    for (const t of JOB_TABLES) {
      if (exists(old, t)) old.prepare(`DELETE FROM ${t} WHERE job = ?`).run(row.id);
    }
    old.prepare("DELETE FROM jobs WHERE id = ?").run(row.id);
    old.exec("COMMIT");
  } finally {
    old.close();
  }
}

/**
 * Copy a whole state database to a new path (which must not exist yet): a consistent snapshot
 * (`VACUUM INTO`), put in place by a rename. For a one-way job whose state an older ferry kept in
 * its destination: the job's key names its locations by ids that are known only once they are
 * opened, so the whole file is copied (other jobs' rows there are never read under this job),
 * and the original is left as it is (it may be another job's state too).
 *
 * @param from The database.
 * @param to The new path; its folder must exist.
 * @throws {Error} When the copy cannot be made.
 */
export function copyDatabase(from: string, to: string): void {
  snapshotInto(from, to, "copying", () => {});
}

/**
 * A consistent snapshot of `from` (`VACUUM INTO`) beside `to`, changed by `edit`, in WAL mode,
 * put in place by a rename; the temporary copy is removed when anything fails.
 */
function snapshotInto(
  from: string,
  to: string,
  tag: string,
  edit: (copy: DatabaseSync) => void,
): void {
  const tmp = nodePath.join(nodePath.dirname(to), `.${nodePath.basename(to)}.${tag}-${Deno.pid}`);
  try {
    Deno.removeSync(tmp);
  } catch { /* none left */ }
  try {
    const src = new DatabaseSync(from);
    try {
      src.exec("PRAGMA busy_timeout = 5000");
      src.prepare("VACUUM INTO ?").run(tmp);
    } finally {
      src.close();
    }
    const copy = new DatabaseSync(tmp);
    try {
      edit(copy);
      copy.exec("PRAGMA journal_mode = WAL");
    } finally {
      copy.close();
    }
    Deno.renameSync(tmp, to);
  } catch (err) {
    try {
      Deno.removeSync(tmp);
    } catch { /* not made */ }
    throw err;
  }
}

function exists(db: DatabaseSync, table: string): boolean {
  return !!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
}
