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

/** What a member held of one path when its job last agreed on it. */
export interface StateRow {
  /** The file's key in the member. */
  path: string;
  /** Bytes. */
  size: number;
  /** Modification time, ms since the epoch. */
  mtime: number;
  /** Inode number (0 where the backend has none). */
  ino: number;
  /** Device number (0 where the backend has none). */
  dev: number;
  /**
   * Written only (the content's SHA-256, kept in the location's hash cache); rows read back
   * carry null: the cache is read with {@linkcode StateView.hashes}.
   */
  sha256: string | null;
  /**
   * The entry's version stamp where the backend has one (S3: the ETag): proves `mtime` still
   * applies to the entry (the time ferry wrote, where the listing does not show it).
   */
  stamp: string | null;
  /** When ferry last made this file agree with its peer (ms since epoch), 0 if never. */
  syncedAt: number;
}

/** A cached content hash: valid while size, time and inode are as they were. */
export interface HashRow {
  /** Bytes when hashed. */
  size: number;
  /** Modification time when hashed, ms since the epoch. */
  mtime: number;
  /** Inode number when hashed (0 where the backend has none). */
  ino: number;
  /** The content's SHA-256, lowercase hex. */
  sha256: string;
}

/** A batch of changes for one member, applied in one transaction with the others. */
export interface StateChanges {
  /** The member's location id (`Backend.id`). */
  loc: string;
  /**
   * Rows to write: an array (sorted here), or rows made one at a time in path order (a rebuild
   * of 200,000 rows then never holds them all).
   */
  upserts: readonly StateRow[] | Iterable<StateRow>;
  /** Keys whose rows go (files no longer there, or no longer agreed). */
  deletes: string[];
  /** Folder renames: every row below `from/` moves below `to/`. */
  dirMoves?: { from: string; to: string }[];
  /** Replace all of the member's rows with `upserts` (after a full listing). */
  replaceAll?: boolean;
  /** Replace the member's rows at and below these keys only (after a scoped listing). */
  replaceUnder?: readonly string[];
  /**
   * This member's rows are the job's agreed versions (a one-way job's source): the job's
   * `agreed` rows follow them (a version number that grows with each change of size or time),
   * and every member's rows written after them name the version they hold.
   */
  agreed?: boolean;
}

/**
 * What a member's rows add up to: how many, their bytes and the characters of their keys. A
 * one-way job compares it with the files in step after a pass: rows that add up to something
 * else are no record of them (a pass killed before its state was written, state lost or
 * edited) and are rebuilt from the listings.
 */
export interface RowDigest {
  /** How many rows. */
  files: number;
  /**
   * Their bytes; null where the rows were never summed (an older ferry's, or only a scope's so
   * far).
   */
  bytes: number | null;
  /** Characters (code points, as SQLite counts them) of every key; null as `bytes`. */
  chars: number | null;
}

/**
 * Schema 4: facts about a location (`seen`, the hash cache, shared by every job that uses the
 * location) kept apart from facts about a job (`holds`: what each member held when the job
 * last agreed; `agreed`: the agreed version of each path, with tombstones, for jobs of more
 * than one writer; a one-way job's are its source's rows). A one-way job's "in step" record is
 * its two members' `holds` rows, each naming the agreed version it holds.
 */
const SCHEMA_VERSION = 4;

const SCHEMA = `
CREATE TABLE locations (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE seen (
  loc INTEGER NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL,
  ino INTEGER NOT NULL DEFAULT 0, sha256 TEXT NOT NULL,
  PRIMARY KEY (loc, path)
) WITHOUT ROWID;
CREATE TABLE jobs (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL);
CREATE TABLE members (
  job INTEGER NOT NULL, loc INTEGER NOT NULL, pos INTEGER NOT NULL, files INTEGER,
  PRIMARY KEY (job, loc)
);
CREATE TABLE agreed (
  job INTEGER NOT NULL, path TEXT NOT NULL, ver INTEGER NOT NULL, kind TEXT NOT NULL,
  size INTEGER NOT NULL, mtime INTEGER NOT NULL, sha256 TEXT,
  PRIMARY KEY (job, path)
) WITHOUT ROWID;
CREATE TABLE holds (
  job INTEGER NOT NULL, loc INTEGER NOT NULL, path TEXT NOT NULL, ver INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL, mtime INTEGER NOT NULL, ino INTEGER NOT NULL DEFAULT 0,
  dev INTEGER NOT NULL DEFAULT 0, stamp TEXT, synced_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job, loc, path)
) WITHOUT ROWID;
`;

/** Schema 3 kept one table of rows per location name (`job␟location` for a job's rows). */
const FROM_V3 = `
ALTER TABLE locations RENAME TO v3_locations;
ALTER TABLE files RENAME TO v3_files;
${SCHEMA}
CREATE TEMP TABLE v3_names AS
  SELECT id AS old,
    CASE WHEN instr(name, char(31)) > 0 THEN substr(name, 1, instr(name, char(31)) - 1) END AS job,
    CASE WHEN instr(name, char(31)) > 0 THEN substr(name, instr(name, char(31)) + 1) ELSE name END
      AS loc,
    files
  FROM v3_locations;
INSERT OR IGNORE INTO locations (name) SELECT loc FROM v3_names;
INSERT OR IGNORE INTO jobs (key, kind) SELECT job, substr(job, 1, instr(job, ' ') - 1)
  FROM v3_names WHERE job IS NOT NULL;
-- Rows an older ferry kept for a location itself belong to no job: the first job that looks
-- at the location adopts them (job 0).
INSERT INTO members (job, loc, pos, files)
  SELECT coalesce(j.id, 0), l.id, 0, n.files FROM v3_names n
  JOIN locations l ON l.name = n.loc LEFT JOIN jobs j ON j.key = n.job;
INSERT INTO holds (job, loc, path, size, mtime, ino, dev, stamp, synced_at)
  SELECT coalesce(j.id, 0), l.id, f.path, f.size, f.mtime, f.ino, f.dev, f.etag, f.synced_at
  FROM v3_files f JOIN v3_names n ON n.old = f.loc JOIN locations l ON l.name = n.loc
  LEFT JOIN jobs j ON j.key = n.job;
-- The hash cache is a fact about the location, whichever job computed it: no file is hashed
-- again after the upgrade.
INSERT OR REPLACE INTO seen (loc, path, size, mtime, ino, sha256)
  SELECT l.id, f.path, f.size, f.mtime, f.ino, f.sha256
  FROM v3_files f JOIN v3_names n ON n.old = f.loc JOIN locations l ON l.name = n.loc
  WHERE f.sha256 IS NOT NULL ORDER BY f.synced_at;
DROP TABLE v3_names;
DROP TABLE v3_files;
DROP TABLE v3_locations;
`;

/**
 * A key's length as SQLite's `length()` counts it: code points (a pair of UTF-16 surrogates is
 * one).
 *
 * @param key The key.
 * @returns Its code points.
 */
export function codePoints(key: string): number {
  return HIGH_SURROGATE.test(key) ? [...key].length : key.length;
}

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

/**
 * @internal SQL for "at or below one of these keys" as ranges of the primary key (a scoped
 * pass of a few paths reads a few rows, not the job's 50,000): `k`, and `k/` ≤ path < `k0`
 * ('0' follows '/').
 *
 * @param scope The keys; none (undefined): no condition.
 * @returns The condition, starting ` AND`, and its arguments.
 */
export function underScope(scope?: readonly string[]): { sql: string; args: string[] } {
  if (!scope) return { sql: "", args: [] };
  return {
    sql: ` AND (${scope.map(() => "path = ? OR (path >= ? AND path < ?)").join(" OR ")})`,
    args: scope.flatMap((k) => [k, k + "/", k + "0"]),
  };
}

/** The rows sorted by path (the same array when they already are). */
function inPathOrder<T extends { path: string }>(rows: readonly T[]): readonly T[] {
  let sorted = true;
  for (let i = 1; i < rows.length && sorted; i++) sorted = rows[i - 1]!.path <= rows[i]!.path;
  return sorted ? rows : [...rows].sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** Rows written by one multi-row statement: far fewer calls into SQLite per file. */
const BATCH = 100;

/** Rows written by one multi-row statement, `BATCH` at a time. */
export class Batch {
  #args: (string | number | null)[] = [];
  /**
   * @param store Where the statements run.
   * @param sql The statement for so many rows.
   * @param perRow Values per row.
   */
  constructor(
    private store: { run(sql: string, args: (string | number | null)[]): void },
    private sql: (rows: number) => string,
    private perRow: number,
  ) {}

  add(...values: (string | number | null)[]): void {
    this.#args.push(...values);
    if (this.#args.length >= BATCH * this.perRow) this.flush();
  }

  flush(): void {
    if (this.#args.length === 0) return;
    this.store.run(this.sql(this.#args.length / this.perRow), this.#args);
    this.#args = [];
  }
}

/** A job's agreed version of a path, as the store reads it back. */
interface AgreedVersion {
  ver: number;
  kind: string;
  size: number;
  mtime: number;
}

/** A job's agreed versions before a write: by path, and (read all at once) every path. */
interface AgreedLookup {
  get(path: string): AgreedVersion | undefined;
  paths(): Iterable<string>;
}

/** The job that rows of an older ferry, kept per location, belong to until a job adopts them. */
const NO_JOB = 0;

/**
 * The state database: locations, the jobs over them, and what each job last agreed.
 *
 * @example Open an in-memory store
 * ```ts
 * import assert from "node:assert/strict";
 * const store = StateStore.open(":memory:");
 * const job = store.forJob("sync L > M");
 * job.apply([{ loc: "L", upserts: [{ path: "a", size: 1, mtime: 2, ino: 3, dev: 4, sha256: "ab", stamp: null, syncedAt: 5 }], deletes: [] }]);
 * assert.equal(job.count("L"), 1);
 * assert.equal(job.hashes("L").get("a")?.sha256, "ab");
 * store.close();
 * ```
 */
export class StateStore implements UploadJournal {
  /** The database file as opened (`:memory:` for one held in memory). */
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
      // What each member of a mirror listed in its last pass that found nothing to do (added
      // beside schema 4: an older ferry ignores the table).
      db.exec(
        "CREATE TABLE IF NOT EXISTS digests (job INTEGER NOT NULL, loc INTEGER NOT NULL, " +
          "digest TEXT NOT NULL, PRIMARY KEY (job, loc))",
      );
      // Where each location was last seen (added beside schema 4: an older ferry ignores it).
      db.exec(
        "CREATE TABLE IF NOT EXISTS places (loc INTEGER PRIMARY KEY, place TEXT NOT NULL)",
      );
      if (version < SCHEMA_VERSION) {
        db.exec("BEGIN");
        if (version === 0) db.exec(SCHEMA);
        else {
          // Older schemas are brought to 3 first, then moved to 4.
          if (version === 1) db.exec("ALTER TABLE files ADD COLUMN etag TEXT");
          if (version < 3) db.exec("ALTER TABLE locations ADD COLUMN files INTEGER");
          db.exec(FROM_V3);
        }
        db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
        db.exec("COMMIT");
      }
      // What each member's rows add up to (added beside schema 4: an older ferry ignores the
      // columns, and a state it wrote sums to null, which a one-way pass rebuilds once).
      const cols = db.prepare("PRAGMA table_info(members)").all() as { name: string }[];
      if (!cols.some((c) => c.name === "bytes")) {
        db.exec("ALTER TABLE members ADD COLUMN bytes INTEGER");
        db.exec("ALTER TABLE members ADD COLUMN chars INTEGER");
      }
    } catch (err) {
      try {
        db.exec("ROLLBACK");
      } catch { /* no transaction */ }
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

  #ids = new Map<string, number>();

  /**
   * The integer id of a location (or, with `table` "jobs", a job), created on first use; -1
   * (no row has it) for one not known when `create` is false.
   */
  #id(table: "locations" | "jobs", name: string, kind = "", create = true): number {
    const cacheKey = `${table}\u0000${name}`;
    const known = this.#ids.get(cacheKey);
    if (known !== undefined) return known;
    const col = table === "jobs" ? "key" : "name";
    const row = this.#stmt(`SELECT id FROM ${table} WHERE ${col} = ?`).get(name) as
      | { id: number }
      | undefined;
    if (!row && !create) return -1;
    const id = row?.id ?? Number(
      table === "jobs"
        ? this.#stmt("INSERT INTO jobs (key, kind) VALUES (?, ?)").run(name, kind).lastInsertRowid
        : this.#stmt("INSERT INTO locations (name) VALUES (?)").run(name).lastInsertRowid,
    );
    this.#ids.set(cacheKey, id);
    return id;
  }

  /** @internal The ids of a job and one of its members (a member row made on first use). */
  member(job: string, loc: string, create = true): { job: number; loc: number } {
    const kind = job.split(" ")[0];
    const ids = {
      job: this.#id("jobs", job, kind, create),
      loc: this.#id("locations", loc, "", create),
    };
    if (!create) return ids;
    this.#stmt(
      "INSERT OR IGNORE INTO members (job, loc, pos, files) VALUES (?, ?, " +
        "(SELECT count(*) FROM members WHERE job = ?1), NULL)",
    ).run(ids.job, ids.loc);
    return ids;
  }

  /** @internal How many files a member holds. */
  count(ids: { job: number; loc: number }): number {
    const r = this.#stmt(
      `SELECT coalesce(files, (SELECT count(*) FROM holds WHERE job = ?1 AND loc = ?2)) AS n
       FROM members WHERE job = ?1 AND loc = ?2`,
    ).get(ids.job, ids.loc) as { n: number } | undefined;
    return r?.n ?? 0;
  }

  /**
   * @internal How many files a member holds at or below these keys: ranges of the primary key
   * (`k`, and `k/` ≤ path < `k0`: '0' follows '/'), so a scope of a few paths counts a few rows.
   */
  countUnder(ids: { job: number; loc: number }, scope: readonly string[]): number {
    if (scope.length === 0) return 0;
    const under = underScope(scope);
    const r = this.#stmt(
      `SELECT count(*) AS n FROM holds WHERE job = ? AND loc = ? AND size >= 0${under.sql}`,
    ).get(ids.job, ids.loc, ...under.args) as { n: number };
    return r.n;
  }

  /** @internal What a member's rows add up to. */
  digest(ids: { job: number; loc: number }): RowDigest {
    const r = this.#stmt("SELECT files, bytes, chars FROM members WHERE job = ? AND loc = ?").get(
      ids.job,
      ids.loc,
    ) as RowDigest | undefined;
    if (r?.files === null || r?.files === undefined) {
      return { files: this.count(ids), bytes: null, chars: null };
    }
    return { files: r.files, bytes: r.bytes, chars: r.chars };
  }

  /** @internal What a member's rows at or below these keys add up to (see `countUnder`). */
  digestUnder(ids: { job: number; loc: number }, scope: readonly string[]): RowDigest {
    if (scope.length === 0) return { files: 0, bytes: 0, chars: 0 };
    const under = underScope(scope);
    const r = this.#stmt(
      `SELECT count(*) AS files, coalesce(sum(size), 0) AS bytes,
         coalesce(sum(length(path)), 0) AS chars
       FROM holds WHERE job = ? AND loc = ? AND size >= 0${under.sql}`,
    ).get(ids.job, ids.loc, ...under.args) as unknown as RowDigest;
    return { files: r.files, bytes: r.bytes, chars: r.chars };
  }

  /**
   * Count and sum a member's rows into its `members` row (inside a transaction). Rows that
   * were never all written by a pass of this ferry (an older one's, or only a scope's so far)
   * stay unsummed until they are replaced whole: such rows are no record of the job's agreed
   * versions, whatever they add up to.
   *
   * @param whole The member's rows were all replaced.
   * @param sums What they add up to, when `whole` (summed as they were written: no scan).
   */
  #tally(job: number, loc: number, whole: boolean, sums?: RowDigest): void {
    if (whole && sums) {
      this.#stmt("UPDATE members SET files = ?, bytes = ?, chars = ? WHERE job = ? AND loc = ?")
        .run(sums.files, sums.bytes, sums.chars, job, loc);
      return;
    }
    this.#stmt(
      `UPDATE members SET (files, bytes, chars) = (SELECT count(*),
         CASE WHEN ?3 OR members.bytes IS NOT NULL THEN coalesce(sum(size), 0) END,
         CASE WHEN ?3 OR members.bytes IS NOT NULL THEN coalesce(sum(length(path)), 0) END
         FROM holds WHERE job = ?1 AND loc = ?2)
       WHERE job = ?1 AND loc = ?2`,
    ).run(job, loc, whole ? 1 : 0);
  }

  /** @internal Every row a member holds. */
  rows(ids: { job: number; loc: number }): Map<string, StateRow> {
    const out = new Map<string, StateRow>();
    // One JSON string for all rows is about 3x faster than an object per row from SQLite.
    const r = this.#stmt(
      `SELECT json_group_array(json_array(path, size, mtime, ino, dev, synced_at, stamp))
       AS j FROM holds WHERE job = ? AND loc = ?`,
    ).get(ids.job, ids.loc) as { j: string };
    for (const [path, size, mtime, ino, dev, syncedAt, stamp] of JSON.parse(r.j)) {
      out.set(path, { path, size, mtime, ino, dev, sha256: null, syncedAt, stamp });
    }
    return out;
  }

  /** @internal The hash cache of a location. */
  hashes(loc: number): Map<string, HashRow> {
    const out = new Map<string, HashRow>();
    const r = this.#stmt(
      "SELECT json_group_array(json_array(path, size, mtime, ino, sha256)) AS j FROM seen WHERE loc = ?",
    ).get(loc) as { j: string };
    for (const [path, size, mtime, ino, sha256] of JSON.parse(r.j)) {
      out.set(path, { size, mtime, ino, sha256 });
    }
    return out;
  }

  /** @internal Apply one member's changes (inside a transaction). */
  applyMember(
    ids: { job: number; loc: number },
    c: StateChanges,
    written: Map<string, number> = new Map(),
  ): void {
    const { job, loc } = ids;
    if (c.replaceAll) this.#stmt("DELETE FROM holds WHERE job = ? AND loc = ?").run(job, loc);
    for (const u of c.replaceUnder ?? []) {
      this.#stmt(
        "DELETE FROM holds WHERE job = ? AND loc = ? AND (path = ? OR substr(path, 1, ?) = ?)",
      ).run(job, loc, u, [...u].length + 1, u + "/");
    }
    const delHold = this.#stmt("DELETE FROM holds WHERE job = ? AND loc = ? AND path = ?");
    const delSeen = this.#stmt("DELETE FROM seen WHERE loc = ? AND path = ?");
    const delAgreed = this.#stmt("DELETE FROM agreed WHERE job = ? AND path = ?");
    for (const p of c.deletes) {
      delHold.run(job, loc, p);
      delSeen.run(loc, p);
      if (c.agreed) delAgreed.run(job, p);
    }
    for (const m of c.dirMoves ?? []) {
      // SQLite's substr counts code points, not UTF-16 units.
      const n = [...m.from].length;
      this.#stmt(
        `UPDATE OR REPLACE holds SET path = ? || substr(path, ?)
         WHERE job = ? AND loc = ? AND substr(path, 1, ?) = ?`,
      ).run(m.to + "/", n + 2, job, loc, n + 1, m.from + "/");
      this.#stmt(
        `UPDATE OR REPLACE seen SET path = ? || substr(path, ?) WHERE loc = ? AND substr(path, 1, ?) = ?`,
      ).run(m.to + "/", n + 2, loc, n + 1, m.from + "/");
      if (c.agreed) {
        this.#stmt(
          `UPDATE OR REPLACE agreed SET path = ? || substr(path, ?)
           WHERE job = ? AND substr(path, 1, ?) = ?`,
        ).run(m.to + "/", n + 2, job, n + 1, m.from + "/");
      }
    }
    const sums = this.#writeRows(job, loc, c, written);
    this.#tally(job, loc, !!c.replaceAll, sums);
  }

  /**
   * Upsert a member's rows and their hashes. Each row names the agreed version of its path:
   * for the rows of the agreed versions, the version they make (a version grows when size or
   * time changed; only a new or grown version is written), for another member's, the one its
   * path has (0 where the job agreed on none).
   *
   * @param written The versions made by the members applied before in the same batch.
   */
  #writeRows(
    job: number,
    loc: number,
    c: StateChanges,
    written: Map<string, number>,
  ): RowDigest | undefined {
    const rows = Array.isArray(c.upserts) ? inPathOrder(c.upserts as StateRow[]) : c.upserts;
    const agreedSql = (n: number) =>
      "INSERT OR REPLACE INTO agreed (job, path, ver, kind, size, mtime) VALUES " +
      Array(n).fill(`(${job}, ?, ?, 'file', ?, ?)`).join(", ");
    const holdSql = (n: number) =>
      `INSERT INTO holds (job, loc, path, ver, size, mtime, ino, dev, stamp, synced_at) VALUES ` +
      Array(n).fill(`(${job}, ${loc}, ?, ?, ?, ?, ?, ?, ?, ?)`).join(", ") +
      ` ON CONFLICT (job, loc, path) DO UPDATE SET ver = excluded.ver, size = excluded.size,
         mtime = excluded.mtime, ino = excluded.ino, dev = excluded.dev, stamp = excluded.stamp,
         synced_at = max(holds.synced_at, excluded.synced_at)`;
    const seenSql = (n: number) =>
      `INSERT OR REPLACE INTO seen (loc, path, size, mtime, ino, sha256) VALUES ` +
      Array(n).fill(`(${loc}, ?, ?, ?, ?, ?)`).join(", ");
    const agreed = c.agreed ? new Batch(this, agreedSql, 4) : undefined;
    const holds = new Batch(this, holdSql, 8);
    const seen = new Batch(this, seenSql, 5);
    const had = this.#agreedOf(job, c.agreed ? c : undefined);
    // Rows that replace the source's: a path new to the job is written to `agreed` by one
    // statement from the rows afterwards (a first copy of 50,000 files spent 150 ms binding
    // them one by one).
    const bulk = !!agreed && (!!c.replaceAll || !!c.replaceUnder);
    // Summed as written; a path met twice (rows not strictly in order) leaves it to a scan.
    let sums: { files: number; bytes: number; chars: number } | undefined = {
      files: 0,
      bytes: 0,
      chars: 0,
    };
    let prev: string | undefined;
    for (const r of rows) {
      if (prev !== undefined && r.path <= prev) sums = undefined;
      prev = r.path;
      if (sums) {
        sums.files++;
        sums.bytes += r.size;
        sums.chars += codePoints(r.path);
      }
      let ver: number;
      if (agreed) {
        const old = had.get(r.path);
        ver = !old
          ? 1
          : old.kind === "file" && old.size === r.size && old.mtime === r.mtime
          ? old.ver
          : old.ver + 1;
        if (ver !== old?.ver && (old || !bulk)) agreed.add(r.path, ver, r.size, r.mtime);
        written.set(r.path, ver);
      } else ver = written.get(r.path) ?? had.get(r.path)?.ver ?? 0;
      holds.add(r.path, ver, r.size, r.mtime, r.ino, r.dev, r.stamp, r.syncedAt);
      if (r.sha256 !== null) seen.add(r.path, r.size, r.mtime, r.ino, r.sha256);
    }
    agreed?.flush();
    holds.flush();
    seen.flush();
    if (!bulk) return sums;
    const under = underScope(c.replaceUnder);
    this.#stmt(
      `INSERT OR IGNORE INTO agreed (job, path, ver, kind, size, mtime)
       SELECT job, path, 1, 'file', size, mtime FROM holds WHERE job = ? AND loc = ?${under.sql}`,
    ).run(job, loc, ...under.args);
    // Versions no row holds any more go.
    const gone = this.#stmt("DELETE FROM agreed WHERE job = ? AND path = ?");
    for (const p of had.paths()) if (!written.has(p)) gone.run(job, p);
    return sums;
  }

  /**
   * A job's agreed row of a path, as it was before this write: read all at once for rows that
   * replace the member's (all of them, or a scope's), one at a time otherwise (a pass's few
   * changes).
   */
  #agreedOf(
    job: number,
    c: StateChanges | undefined,
  ): AgreedLookup {
    if (c?.replaceAll || c?.replaceUnder) {
      const under = underScope(c.replaceUnder);
      const r = this.#stmt(
        `SELECT json_group_array(json_array(path, ver, kind, size, mtime)) AS j FROM agreed
         WHERE job = ?${under.sql}`,
      ).get(job, ...under.args) as { j: string };
      const all = new Map<string, AgreedVersion>();
      for (const [path, ver, kind, size, mtime] of JSON.parse(r.j)) {
        all.set(path, { ver, kind, size, mtime });
      }
      return { get: (path) => all.get(path), paths: () => all.keys() };
    }
    const one = this.#stmt("SELECT ver, kind, size, mtime FROM agreed WHERE job = ? AND path = ?");
    return {
      get: (path) => one.get(job, path) as AgreedVersion | undefined,
      paths: () => [],
    };
  }

  /** @internal Every row a prepared statement (cached by its text) returns. */
  all(sql: string, args: (string | number | null)[]): unknown[] {
    return this.#stmt(sql).all(...args);
  }

  /** @internal Run a prepared statement (cached by its text). */
  run(sql: string, args: (string | number | null)[]): void {
    this.#stmt(sql).run(...args);
  }

  /**
   * @internal Give a job's member the rows an older ferry kept for the location itself (no
   * job), when the member has none: the first job to look at a location after an upgrade
   * starts from them, so nothing is copied or hashed again.
   */
  adopt(ids: { job: number; loc: number }): void {
    if (ids.job === NO_JOB) return;
    const has = this.#stmt("SELECT 1 FROM holds WHERE job = ? AND loc = ? LIMIT 1").get(
      ids.job,
      ids.loc,
    );
    if (has) return;
    const legacy = this.#stmt("SELECT 1 FROM holds WHERE job = ? AND loc = ? LIMIT 1").get(
      NO_JOB,
      ids.loc,
    );
    if (!legacy) return;
    this.transaction(() => {
      this.#stmt(
        `INSERT INTO holds (job, loc, path, ver, size, mtime, ino, dev, stamp, synced_at)
         SELECT ?, loc, path, ver, size, mtime, ino, dev, stamp, synced_at FROM holds
         WHERE job = ? AND loc = ?`,
      ).run(ids.job, NO_JOB, ids.loc);
      // Counted, not summed: rows an older ferry wrote are rebuilt by the job's next pass,
      // which writes its agreed versions too.
      this.#stmt(
        `UPDATE members SET files = (SELECT count(*) FROM holds WHERE job = ?1 AND loc = ?2),
           bytes = NULL, chars = NULL WHERE job = ?1 AND loc = ?2`,
      ).run(ids.job, ids.loc);
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
   * Remember where a location was seen (a folder's path): one that is missing has no marker
   * to name it, and is known by its place.
   *
   * @param loc The location's id.
   * @param place Where it is (`file:<path>`, or the location as shown).
   */
  notePlace(loc: string, place: string): void {
    const id = this.#id("locations", loc, "", false);
    if (id < 0) return;
    const r = this.#stmt("SELECT place FROM places WHERE loc = ?").get(id) as
      | { place: string }
      | undefined;
    if (r?.place === place) return;
    this.#stmt("INSERT OR REPLACE INTO places (loc, place) VALUES (?, ?)").run(id, place);
  }

  /**
   * How many files the last pass of a one-way job left in its destination, found by the
   * destination's id or by the place it was last seen at (a folder that is gone has no marker
   * to name it).
   *
   * @param src The source's id.
   * @param dst The destination's id now.
   * @param place The destination's place.
   * @returns The count, or undefined when the job never recorded a pass into it.
   */
  lastLeft(src: string, dst: string, place: string): number | undefined {
    const r = this.#stmt(
      `SELECT max(m.files) AS files FROM locations l
       JOIN jobs j ON j.key = 'sync ' || ?1 || ' > ' || l.name
       JOIN members m ON m.job = j.id AND m.loc = l.id
       WHERE m.files IS NOT NULL
         AND (l.name = ?2 OR l.id IN (SELECT loc FROM places WHERE place = ?3))`,
    ).get(src, dst, place) as { files: number | null };
    return r.files ?? undefined;
  }

  /**
   * Carry what the state knows of a location under a former id over to its new one (a local
   * folder named by its path, then by the marker in its root): its hash cache, its jobs and
   * their rows. Nothing happens when the new id is known already or the old one is not.
   *
   * @param former The id the location had.
   * @param id The id it has now.
   */
  adoptLocation(former: string, id: string): void {
    const has = (name: string) =>
      this.#stmt("SELECT id FROM locations WHERE name = ?").get(name) as { id: number } | undefined;
    if (former === id || has(id) || !has(former)) return;
    this.transaction(() => {
      this.#stmt("UPDATE locations SET name = ? WHERE name = ?").run(id, former);
      const jobs = this.#stmt("SELECT id, key, kind FROM jobs").all() as {
        id: number;
        key: string;
        kind: string;
      }[];
      for (const j of jobs) {
        const members = j.key.slice(j.kind.length + 1).split(" > ");
        if (!j.key.startsWith(j.kind + " ") || !members.includes(former)) continue;
        const key = `${j.kind} ${members.map((m) => m === former ? id : m).join(" > ")}`;
        if (this.#stmt("SELECT 1 FROM jobs WHERE key = ?").get(key)) continue;
        this.#stmt("UPDATE jobs SET key = ? WHERE id = ?").run(key, j.id);
      }
      this.#stmt("UPDATE uploads SET loc = ? WHERE loc = ?").run(id, former);
    });
    this.#ids.clear();
  }

  /**
   * The state of one job: the same calls, with each location's rows kept apart per job.
   *
   * @param job The job's key (its kind and members).
   * @param options `readOnly`: a dry run's view, which writes nothing (not even the rows that
   * name a new job), and reads what an older ferry kept per location without adopting it.
   * @returns A view that reads and writes only this job's rows.
   */
  forJob(job: string, options: { readOnly?: boolean } = {}): JobState {
    return new JobState(this, job, options.readOnly ?? false);
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
      this.#ids.clear(); // ids made inside the rolled-back transaction are gone
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

/** What the sync engine reads and writes: a job's rows, the hash cache, the upload journal. */
export interface StateView extends UploadJournal {
  /** What a member held when the job last agreed. */
  rows(loc: string): Map<string, StateRow>;
  /** How many files a member held. */
  count(loc: string): number;
  /** How many files a member held at or below these keys (a scope: see `normaliseScope`). */
  countUnder(loc: string, scope: readonly string[]): number;
  /** What a member's rows add up to (see {@linkcode RowDigest}). */
  digest(loc: string): RowDigest;
  /** What a member's rows at or below these keys add up to. */
  digestUnder(loc: string, scope: readonly string[]): RowDigest;
  /** How many files a member held outside these keys (the rest of the job in a scoped pass). */
  countOutside(loc: string, scope: readonly string[]): number;
  /** The location's hash cache (shared by every job that uses the location). */
  hashes(loc: string): Map<string, HashRow>;
  /** Apply changes to several members in one transaction (all or none). */
  apply(changes: StateChanges[]): void;
  /** Run `fn` in a transaction (inside another: part of it); rolled back if `fn` throws. */
  transaction(fn: () => void): void;
}

/**
 * One job's view of the state. `holds` rows are facts about a member *as this job last agreed
 * it* (the rename proofs and "in step" records): two jobs sharing a folder (`A → B` and
 * `A → C`) never overwrite each other's rows, which once made the second refuse a rename as a
 * mass deletion. The hash cache is the location's, whichever job filled it. Open uploads stay
 * keyed by location (they are the store's, whoever started them).
 */
export class JobState implements StateView {
  /** The database the rows are in. */
  readonly store: StateStore;
  /** The job's key (its members' ids, as the state keeps them). */
  readonly job: string;
  /** Nothing is written: {@linkcode JobState.apply} throws (a dry run). */
  readonly readOnly: boolean;
  #members = new Map<string, { job: number; loc: number }>();

  /**
   * A view of `store` for one job; members are registered on first use.
   *
   * @param store The database.
   * @param job The job's key.
   * @param readOnly Write nothing (a dry run).
   */
  constructor(store: StateStore, job: string, readOnly = false) {
    this.store = store;
    this.job = job;
    this.readOnly = readOnly;
  }

  #ids(loc: string): { job: number; loc: number } {
    let ids = this.#members.get(loc);
    if (!ids) {
      ids = this.store.member(this.job, loc, !this.readOnly);
      if (!this.readOnly) this.store.adopt(ids);
      this.#members.set(loc, ids);
    }
    return ids;
  }

  rows(loc: string): Map<string, StateRow> {
    const ids = this.#ids(loc);
    const rows = this.store.rows(ids);
    // A dry run sees what an older ferry kept for the location, as the real run will adopt it.
    if (rows.size === 0 && this.readOnly && ids.loc !== -1) {
      return this.store.rows({ ...ids, job: 0 });
    }
    return rows;
  }

  count(loc: string): number {
    return this.store.count(this.#ids(loc));
  }

  countUnder(loc: string, scope: readonly string[]): number {
    return this.store.countUnder(this.#counted(loc), scope);
  }

  digest(loc: string): RowDigest {
    return this.store.digest(this.#ids(loc));
  }

  digestUnder(loc: string, scope: readonly string[]): RowDigest {
    return this.store.digestUnder(this.#counted(loc), scope);
  }

  countOutside(loc: string, scope: readonly string[]): number {
    const ids = this.#counted(loc);
    return this.store.count(ids) - this.store.countUnder(ids, scope);
  }

  /** The rows a member's counts are of: a dry run counts what an older ferry kept for the
   * location when the job has none, as `rows` reads it. */
  #counted(loc: string): { job: number; loc: number } {
    const ids = this.#ids(loc);
    if (this.readOnly && ids.loc !== -1 && this.store.count(ids) === 0) return { ...ids, job: 0 };
    return ids;
  }

  hashes(loc: string): Map<string, HashRow> {
    return this.store.hashes(this.#ids(loc).loc);
  }

  apply(changes: StateChanges[]): void {
    if (this.readOnly) throw new Error("a read-only state view cannot be written");
    // Members are known before the transaction: ids made inside one that rolls back are gone.
    const ids = changes.map((c) => this.#ids(c.loc));
    // The agreed versions the first members' rows make, named by the rows of the others.
    const written = new Map<string, number>();
    this.store.transaction(() => {
      changes.forEach((c, i) => this.store.applyMember(ids[i]!, c, written));
    });
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
