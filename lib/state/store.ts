/**
 * The state database: what ferry last saw of each location, per file. SQLite through Deno's
 * built-in `node:sqlite` (no FFI, nothing downloaded, works in a compiled binary).
 *
 * Losing it is safe: without rows nothing is proven deleted or renamed, so the engine falls
 * back to comparing listings and hashing.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import * as nodePath from "node:path";
import type { UploadJournal } from "../backends/backend.ts";

/** What ferry last saw of one file at one location. */
export interface StateRow {
  path: string;
  size: number;
  mtime: number;
  ino: number;
  dev: number;
  sha256: string | null;
  /** Object stores: the ETag the object had, which proves `mtime` still applies to it. */
  etag: string | null;
  /** When ferry last made this file agree with its peer (ms since epoch), 0 if never. */
  syncedAt: number;
}

/** A batch of changes for one location, applied in one transaction with the others. */
export interface StateChanges {
  loc: string;
  upserts: StateRow[];
  deletes: string[];
  /** Folder renames: every row below `from/` moves below `to/`. */
  dirMoves?: { from: string; to: string }[];
  /** Replace all of the location's rows with `upserts` (after a full listing). */
  replaceAll?: boolean;
}

const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS locations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  files INTEGER
);
CREATE TABLE IF NOT EXISTS files (
  loc INTEGER NOT NULL REFERENCES locations (id),
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime INTEGER NOT NULL,
  ino INTEGER NOT NULL DEFAULT 0,
  dev INTEGER NOT NULL DEFAULT 0,
  sha256 TEXT,
  synced_at INTEGER NOT NULL DEFAULT 0,
  etag TEXT,
  PRIMARY KEY (loc, path)
) WITHOUT ROWID;
`;

/** The rows sorted by path (the same array when they already are). */
function inPathOrder(rows: readonly StateRow[]): readonly StateRow[] {
  let sorted = true;
  for (let i = 1; i < rows.length && sorted; i++) sorted = rows[i - 1]!.path <= rows[i]!.path;
  return sorted ? rows : [...rows].sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** Rows written by one multi-row statement: far fewer calls into SQLite per file. */
const BATCH = 100;
const COLUMNS = 9;

/**
 * The state of one sync job (or several: rows are keyed by location id).
 *
 * @example Open an in-memory store
 * ```ts
 * import assert from "node:assert/strict";
 * const store = StateStore.open(":memory:");
 * store.apply([{ loc: "L", upserts: [{ path: "a", size: 1, mtime: 2, ino: 3, dev: 4, sha256: null, etag: null, syncedAt: 5 }], deletes: [] }]);
 * assert.deepEqual(store.count("L"), 1);
 * store.close();
 * ```
 */
export class StateStore implements UploadJournal {
  readonly path: string;
  #db: DatabaseSync;
  #stmts = new Map<string, StatementSync>();

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
  }

  /**
   * Open (and create or migrate) a state database.
   *
   * @param path File path, or `:memory:`.
   * @returns The store.
   * @throws {Error} When the file is not a ferry state database of a known version.
   */
  static open(path: string): StateStore {
    if (path !== ":memory:") Deno.mkdirSync(nodePath.dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    try {
      db.exec(
        // A page cache of up to 64 MiB (the default 8 MiB spills while 100,000 rows go in:
        // writing them took twice as long).
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; " +
          "PRAGMA cache_size = -65536;",
      );
      const version = (db.prepare("PRAGMA user_version").get() as { user_version: number })
        .user_version;
      if (version > SCHEMA_VERSION) {
        throw new Error(
          `State database "${path}" was written by a newer ferry (schema ${version}): upgrade ferry or use --state`,
        );
      }
      // Open multipart uploads (added beside schema 3: an older ferry ignores the table).
      db.exec(
        "CREATE TABLE IF NOT EXISTS uploads (loc TEXT NOT NULL, key TEXT NOT NULL, " +
          "upload_id TEXT NOT NULL PRIMARY KEY, started INTEGER NOT NULL)",
      );
      if (version < SCHEMA_VERSION) {
        db.exec("BEGIN");
        if (version === 0) db.exec(SCHEMA);
        if (version === 1) db.exec("ALTER TABLE files ADD COLUMN etag TEXT");
        // Version 3 keeps each location's row count, so that a run that changed nothing can
        // check the state without counting rows; NULL until the next write.
        if (version >= 1 && version < 3) db.exec("ALTER TABLE locations ADD COLUMN files INTEGER");
        db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
        db.exec("COMMIT");
      }
    } catch (err) {
      db.close();
      throw err;
    }
    return new StateStore(path, db);
  }

  #stmt(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  /**
   * How many files of a location are recorded.
   *
   * @param loc Location id.
   * @returns The row count.
   */
  count(loc: string): number {
    const id = this.#locId(loc, false);
    if (id === undefined) return 0;
    const r = this.#stmt(
      "SELECT coalesce(files, (SELECT count(*) FROM files WHERE loc = ?1)) AS n FROM locations WHERE id = ?1",
    ).get(id) as { n: number };
    return r.n;
  }

  #locIds = new Map<string, number>();

  /** The integer id of a location name, created on first write. */
  #locId(loc: string, create: true): number;
  #locId(loc: string, create: false): number | undefined;
  #locId(loc: string, create: boolean): number | undefined {
    const known = this.#locIds.get(loc);
    if (known !== undefined) return known;
    const row = this.#stmt("SELECT id FROM locations WHERE name = ?").get(loc) as
      | { id: number }
      | undefined;
    let id = row?.id;
    if (id === undefined && create) {
      id = Number(this.#stmt("INSERT INTO locations (name) VALUES (?)").run(loc).lastInsertRowid);
    }
    if (id !== undefined) this.#locIds.set(loc, id);
    return id;
  }

  /**
   * Every row of a location.
   *
   * @param loc Location id.
   * @returns Rows keyed by path.
   */
  rows(loc: string): Map<string, StateRow> {
    const out = new Map<string, StateRow>();
    const id = this.#locId(loc, false);
    if (id === undefined) return out;
    // One JSON string for all rows is about 3x faster than an object per row from SQLite.
    const r = this.#stmt(
      `SELECT json_group_array(json_array(path, size, mtime, ino, dev, sha256, synced_at, etag))
       AS j FROM files WHERE loc = ?`,
    ).get(id) as { j: string };
    for (const [path, size, mtime, ino, dev, sha256, syncedAt, etag] of JSON.parse(r.j)) {
      out.set(path, { path, size, mtime, ino, dev, sha256, syncedAt, etag });
    }
    return out;
  }

  /**
   * Apply changes for one or more locations in a single transaction.
   *
   * @param changes One batch a location.
   */
  apply(changes: StateChanges[]): void {
    const upsertSql = (n: number) =>
      `INSERT INTO files (loc, path, size, mtime, ino, dev, sha256, synced_at, etag) VALUES ` +
      Array(n).fill("(?, ?, ?, ?, ?, ?, ?, ?, ?)").join(", ") +
      ` ON CONFLICT (loc, path) DO UPDATE SET size = excluded.size, mtime = excluded.mtime,
         ino = excluded.ino, dev = excluded.dev, sha256 = excluded.sha256, etag = excluded.etag,
         synced_at = max(files.synced_at, excluded.synced_at)`;
    const del = this.#stmt("DELETE FROM files WHERE loc = ? AND path = ?");
    this.transaction(() => {
      for (const c of changes) {
        const loc = this.#locId(c.loc, true);
        if (c.replaceAll) this.#stmt("DELETE FROM files WHERE loc = ?").run(loc);
        for (const p of c.deletes) del.run(loc, p);
        for (const m of c.dirMoves ?? []) {
          // SQLite's substr counts code points, not UTF-16 units.
          const n = [...m.from].length;
          this.#stmt(
            `UPDATE OR REPLACE files SET path = ? || substr(path, ?) WHERE loc = ? AND substr(path, 1, ?) = ?`,
          ).run(m.to + "/", n + 2, loc, n + 1, m.from + "/");
        }
        const args: (string | number | null)[] = [];
        const flush = (rows: number) => {
          this.#stmt(upsertSql(rows)).run(...args);
          args.length = 0;
        };
        // In key order, rows land next to each other in the B-tree: about 30% faster.
        for (const r of inPathOrder(c.upserts)) {
          args.push(loc, r.path, r.size, r.mtime, r.ino, r.dev, r.sha256, r.syncedAt, r.etag);
          if (args.length === BATCH * COLUMNS) flush(BATCH);
        }
        if (args.length > 0) flush(args.length / COLUMNS);
        this.#stmt(
          "UPDATE locations SET files = (SELECT count(*) FROM files WHERE loc = ?1) WHERE id = ?1",
        ).run(loc);
      }
    });
  }

  /**
   * Write down an open multipart upload (see {@linkcode UploadJournal}).
   *
   * @param loc Location id.
   * @param key The object key.
   * @param id The upload id.
   */
  add(loc: string, key: string, id: string): void {
    this.#stmt("INSERT OR REPLACE INTO uploads (loc, key, upload_id, started) VALUES (?, ?, ?, ?)")
      .run(loc, key, id, Date.now());
  }

  /**
   * Forget an upload that was completed or aborted.
   *
   * @param _loc Location id (the upload id is unique on its own).
   * @param id The upload id.
   */
  remove(_loc: string, id: string): void {
    this.#stmt("DELETE FROM uploads WHERE upload_id = ?").run(id);
  }

  /**
   * The uploads written down for a location.
   *
   * @param loc Location id.
   * @returns Object keys and upload ids.
   */
  list(loc: string): { key: string; id: string }[] {
    return (this.#stmt("SELECT key, upload_id FROM uploads WHERE loc = ?").all(loc) as {
      key: string;
      upload_id: string;
    }[]).map((r) => ({ key: r.key, id: r.upload_id }));
  }

  /**
   * Give location `to` a copy of location `from`'s rows, when `to` has none yet and `from`
   * has some: a job's first look at a location adopts what an older ferry kept for the
   * location itself (schema 3 kept rows per location, not per job).
   *
   * @param from The location name rows were kept under.
   * @param to The new name.
   */
  adoptRows(from: string, to: string): void {
    if (this.#locId(to, false) !== undefined) return;
    const old = this.#locId(from, false);
    if (old === undefined) return;
    this.transaction(() => {
      const id = this.#locId(to, true);
      this.#stmt(
        `INSERT INTO files (loc, path, size, mtime, ino, dev, sha256, synced_at, etag)
         SELECT ?, path, size, mtime, ino, dev, sha256, synced_at, etag FROM files WHERE loc = ?`,
      ).run(id, old);
      this.#stmt(
        "UPDATE locations SET files = (SELECT count(*) FROM files WHERE loc = ?1) WHERE id = ?1",
      ).run(id);
    });
  }

  /**
   * The state of one job: the same calls, with each location's rows kept apart per job.
   *
   * @param job The job's key (its kind and members).
   * @returns A view that reads and writes only this job's rows.
   */
  forJob(job: string): JobState {
    return new JobState(this, job);
  }

  #depth = 0;

  /**
   * Run `fn` in one transaction (nested calls join the outer one).
   *
   * @param fn Work that calls `apply`, `count` and `rows`.
   */
  transaction(fn: () => void): void {
    if (this.#depth > 0) {
      fn();
      return;
    }
    this.#db.exec("BEGIN IMMEDIATE");
    this.#depth++;
    try {
      fn();
      this.#db.exec("COMMIT");
    } catch (err) {
      this.#db.exec("ROLLBACK");
      this.#locIds.clear(); // ids made inside the rolled-back transaction are gone
      throw err;
    } finally {
      this.#depth--;
    }
  }

  /** Close the database. */
  close(): void {
    this.#stmts.clear();
    this.#db.close();
  }
}

/** What the sync engine reads and writes: a job's rows, and the upload journal. */
export interface StateView extends UploadJournal {
  rows(loc: string): Map<string, StateRow>;
  count(loc: string): number;
  apply(changes: StateChanges[]): void;
  transaction(fn: () => void): void;
}

/**
 * One job's view of the state. Rows are facts about a location *as this job last agreed it*
 * (the rename proofs and "in step" records): two jobs sharing a folder (`A → B` and `A → C`)
 * no longer overwrite each other's rows, which made the second refuse a rename as a mass
 * deletion. Open uploads stay keyed by location (they are the store's, whoever started them).
 */
export class JobState implements StateView {
  readonly store: StateStore;
  readonly job: string;
  #adopted = new Set<string>();

  /**
   * @param store The database.
   * @param job The job's key.
   */
  constructor(store: StateStore, job: string) {
    this.store = store;
    this.job = job;
  }

  #name(loc: string): string {
    const name = `${this.job}\u001f${loc}`;
    if (!this.#adopted.has(loc)) {
      this.#adopted.add(loc);
      this.store.adoptRows(loc, name);
    }
    return name;
  }

  rows(loc: string): Map<string, StateRow> {
    return this.store.rows(this.#name(loc));
  }

  count(loc: string): number {
    return this.store.count(this.#name(loc));
  }

  apply(changes: StateChanges[]): void {
    this.store.apply(changes.map((c) => ({ ...c, loc: this.#name(c.loc) })));
  }

  transaction(fn: () => void): void {
    this.store.transaction(fn);
  }

  add(loc: string, key: string, id: string): void {
    this.store.add(loc, key, id);
  }

  remove(loc: string, id: string): void {
    this.store.remove(loc, id);
  }

  list(loc: string): { key: string; id: string }[] {
    return this.store.list(loc);
  }
}
