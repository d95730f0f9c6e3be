/**
 * Local folders. The only module that knows OS paths.
 *
 * @module
 */
import * as nodePath from "node:path";
import {
  type Backend,
  type BulkCopy,
  type BulkFile,
  type BulkResult,
  type Capabilities,
  type Entry,
  type Listing,
  type ListOptions,
  osPathOf,
  type WriteMeta,
} from "./backend.ts";
import {
  type CopyJob,
  copyWithWorkers,
  newCopyShared,
  prewarmCopyWorkers,
  releaseSpareCopyWorkers,
} from "./local/copy_pool.ts";
import {
  checkKey,
  FERRY_DIR,
  isOwnKey,
  isWithin,
  normaliseScope,
  processGone,
  scopeParents,
  tempName,
  tempOwner,
  windowsNameProblem,
} from "../paths.ts";
import { loadFilter } from "../scan/filter.ts";
import { prewarmWalker, type RawTree, type WalkOptions, walkTrees } from "./local/walk.ts";
import { copyFileAtomicSync, isRacy, RACY_MS, readSmallFile, sameVersion } from "./local/copy.ts";
import { describeError, SafetyError, UnsafePathError } from "../errors.ts";
import { writeStreamExactly } from "./local/write_stream.ts";
import { streamOf } from "../util/streams.ts";
import { sleep } from "../util/timer.ts";
import { type FsWatch, watchFolder } from "./local/watch.ts";

/** Below this many local-to-local copies, Worker start-up costs more than it saves. */
const WORKER_THRESHOLD = 64;
/** Local files above this size are never copied on the calling thread (it would not hear signals). */
const LARGE_ON_THREAD = 1 << 20;

const isWindows = Deno.build.os === "windows";
const path = isWindows ? nodePath.win32 : nodePath.posix;
// deno-lint-ignore no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** The time a probe file is given: an odd second and one millisecond (2023-11-14). */
const PROBE_TIME = 1_700_000_001_001;

/** Options for {@linkcode LocalBackend}. */
export interface LocalOptions {
  /** Walk with the built-in walker even where `find` could (tests use it to exercise it). */
  builtinWalker?: boolean;
  /** Leave all shared walking to the walker Worker (tests use it); implies `builtinWalker`. */
  listInWorker?: boolean;
  /** Apply Windows' name rules on any OS (tests use it; on Windows they always apply). */
  windowsNames?: boolean;
  /**
   * Write the marker that names the location (`.ferry/location`) when it is opened for writing
   * (default true). Off when the user keeps ferry's files out of their folders.
   */
  marker?: boolean;
  /** Makes the watcher {@linkcode LocalBackend.watch} uses (tests stand in for `Deno.watchFs`). */
  watchFs?: (path: string) => AsyncIterable<Deno.FsEvent> & { close(): void };
}

/** A whole number as a small integer where it is one (under 2^30), else as it is. */
function small(n: number): number {
  return n < 0x40000000 ? n | 0 : n;
}

/** Run a synchronous call, as a promise that carries its error. */
function attempt(fn: () => void): Promise<void> {
  try {
    fn();
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err);
  }
}

function toEntry(key: string, info: Deno.FileInfo): Entry {
  const e: Entry = {
    key,
    kind: info.isDirectory ? "dir" : "file",
    size: info.isDirectory ? 0 : info.size,
    mtime: info.mtime?.getTime() ?? 0,
  };
  if (info.ino !== null) e.ino = info.ino;
  if (info.dev !== null) e.dev = info.dev;
  return e;
}

/**
 * A folder on a local disk (or a mounted share, or a USB stick).
 *
 * @example Open a folder
 * ```ts
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const local = new LocalBackend(dir);
 * assert.deepEqual(await local.rootExists(), true);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class LocalBackend implements Backend {
  readonly display: string;
  /**
   * The location's identity in the state: `local:<uuid>` from the marker file ferry keeps in
   * the root (`.ferry/location`), so a USB stick seen at `E:\` then `F:\`, or `/media/a` then
   * `/media/b`, is the same location; `file:<path>` until a marker exists. Valid after open().
   */
  id: string;
  /** Ids this location had before (its path id, once a marker names it): state is carried over. */
  formerIds: string[] = [];
  /** Before open(): the OS's likely answers; open() for writing probes precision and case. */
  readonly caps: Capabilities = {
    local: true,
    timePrecision: 1,
    caseInsensitive: Deno.build.os === "windows" || Deno.build.os === "darwin",
    inodes: !isWindows,
    modTime: "stored",
    dirs: true,
    concurrency: 16,
    transactional: false,
    fast: {
      copyMany: true,
      prepareCopyFrom: true,
      copyInFromPath: true,
      isEmpty: true,
      listWith: true,
      birthTime: true,
    },
  };
  /** Absolute OS path of the root. */
  readonly root: string;
  #walk: WalkOptions;
  /** The root with one trailing separator, for building paths by concatenation. */
  #prefix: string;
  /** Keys must be valid Windows names (on Windows, or when a test asks). */
  #windowsNames: boolean;
  #marker: boolean;
  #watchFs: FsWatch | undefined;
  /** NFC key → native relative name, for names stored in another normal form (NFD). */
  #native = new Map<string, string>();

  /**
   * A folder on this machine; nothing is touched until {@linkcode LocalBackend.open}.
   *
   * @param root The folder, relative to the working directory or absolute.
   * @param options Which walker lists the tree (testing knobs).
   */
  constructor(root: string, options: LocalOptions = {}) {
    this.root = path.resolve(root);
    this.display = this.root;
    this.id = "file:" + this.root;
    this.#walk = options.listInWorker
      ? { workerOnly: true }
      : options.builtinWalker
      ? { builtin: true }
      : {};
    this.#prefix = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
    this.#windowsNames = isWindows || !!options.windowsNames;
    this.#marker = options.marker ?? true;
    this.#watchFs = options.watchFs;
  }

  /** Changes below the root, through `Deno.watchFs` (see `local/watch.ts`). */
  watch(signal: AbortSignal): AsyncIterable<readonly string[] | "rescan"> {
    return watchFolder(this.root, signal, this.#watchFs);
  }

  /**
   * Copies from another local folder go to Worker threads (synchronous calls there copy small
   * files 2–3× faster than async ones here), in batches per destination folder. Fewer than
   * {@linkcode WORKER_THRESHOLD} small files are not worth a Worker's start-up: undefined,
   * and the engine copies them one by one. A large file always goes to a Worker: copied on
   * the calling thread it would hold off Ctrl-C and SIGTERM until done.
   */
  copyMany(
    src: Backend,
    files: BulkFile[],
    report: (r: BulkResult) => void,
    signal: AbortSignal,
  ): BulkCopy | undefined {
    if (!src.caps.local) return undefined;
    if (files.length < WORKER_THRESHOLD && !files.some((f) => f.size > LARGE_ON_THREAD)) {
      return undefined;
    }
    const jobs: CopyJob[] = [];
    const from = src instanceof LocalBackend ? src : undefined;
    for (const [id, f] of files.entries()) {
      let paths: { src: string; dst: string };
      try {
        // Relative to the roots (the keys themselves, where the names are spelled as keys).
        paths = from
          ? { src: from.relativePath(f.srcKey), dst: this.relativePath(f.key) }
          : { src: osPathOf(src, f.srcKey)!, dst: this.relativePath(f.key) };
      } catch (err) {
        // A name this folder cannot hold (a Windows device name): this file fails, alone.
        report({ id, ok: false, changed: false, error: describeError(err) });
        continue;
      }
      // One literal (fields added later go to a second array per job).
      jobs.push(
        f.expect
          ? {
            id,
            src: paths.src,
            dst: paths.dst,
            size: f.size,
            mtime: f.mtime,
            mode: f.mode ?? 0,
            expect: f.expect,
          }
          : { id, src: paths.src, dst: paths.dst, size: f.size, mtime: f.mtime, mode: f.mode ?? 0 },
      );
    }
    const roots = {
      src: from ? from.#prefix : "",
      dst: this.#prefix,
      ...(this.caps.retimeAfterRename ? { retime: true } : {}),
    };
    const shared = newCopyShared();
    return {
      inFlight: () => Atomics.load(shared, 1) * 1024,
      done: copyWithWorkers(jobs, roots, 2, report, signal, shared),
    };
  }

  /** A first copy from another local folder: the copy Workers start while the source is walked. */
  prepareCopyFrom(src: Backend): () => void {
    if (!src.caps.local) return () => {};
    prewarmCopyWorkers(2);
    return releaseSpareCopyWorkers;
  }

  localPath(key: string): string {
    const k = checkKey(key);
    if (k === "") return this.root;
    // A checked key has no "..", "." or empty segments: plain concatenation is safe.
    return this.#prefix + this.relativePath(k);
  }

  /**
   * The OS path of a key below the root: the key itself where the name is spelled as the key
   * (the same string, nothing allocated), else its native spelling.
   *
   * @param key A key (not the root).
   * @returns The relative path.
   */
  relativePath(key: string): string {
    const k = checkKey(key);
    if (this.#windowsNames) {
      const why = windowsNameProblem(k);
      if (why) throw new UnsafePathError(why);
    }
    const rel = this.#native.get(k) ?? k;
    return isWindows ? rel.replaceAll("/", "\\") : rel;
  }

  /**
   * Whether the root exists; opened for writing, an existing root is probed (see
   * {@linkcode LocalBackend.probe}), once.
   */
  async open(mode: "read" | "write" = "read"): Promise<{ exists: boolean }> {
    // The tree will be walked: a walker Worker starts now, while the rest is set up.
    prewarmWalker();
    const exists = await this.rootExists();
    if (exists) this.#identify(mode === "write" && this.#marker);
    if (exists && mode === "write" && !this.#probed) {
      this.#probed = true;
      this.probe();
    }
    return { exists };
  }

  #probed = false;

  /**
   * Read (or, where ferry writes, make) the marker that names this location. The marker keeps
   * the root folder's inode: a folder copied elsewhere (`cp -r`) carries the marker but not
   * the inode, and is a location of its own (a new marker where ferry writes, else its path).
   * Where the file system gives no inodes, the marker alone decides.
   */
  #identify(write: boolean): void {
    const file = path.join(this.root, FERRY_DIR, "location");
    let rootIno: number | null = null;
    try {
      rootIno = Deno.statSync(this.root).ino;
    } catch { /* decided below without it */ }
    try {
      const m = JSON.parse(Deno.readTextFileSync(file)) as { id?: unknown; ino?: unknown };
      const sameRoot = rootIno === null || m.ino === undefined || m.ino === null ||
        m.ino === rootIno;
      if (typeof m.id === "string" && /^[0-9a-f-]{36}$/.test(m.id) && sameRoot) {
        this.#named(`local:${m.id}`);
        return;
      }
    } catch { /* no marker, or not one of ours */ }
    if (!write) return;
    try {
      const id = crypto.randomUUID();
      Deno.mkdirSync(path.join(this.root, FERRY_DIR), { recursive: true });
      const tmp = file + "." + tempName();
      Deno.writeTextFileSync(tmp, JSON.stringify({ id, ino: rootIno }) + "\n");
      Deno.renameSync(tmp, file);
      this.#named(`local:${id}`);
    } catch { /* read-only: the path names it */ }
  }

  #named(id: string): void {
    if (id === this.id) return;
    if (!this.formerIds.includes(this.id)) this.formerIds.push(this.id);
    this.id = id;
  }

  async rootExists(): Promise<boolean> {
    try {
      const info = await Deno.stat(this.root);
      if (!info.isDirectory) throw new Deno.errors.NotADirectory(`"${this.root}" is not a folder`);
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      throw err;
    }
  }

  isEmpty(): boolean {
    try {
      for (const e of Deno.readDirSync(this.root)) if (e.name !== FERRY_DIR) return false;
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Create the root folder itself, never its parents: a missing parent is a drive that is not
   * plugged in or a share that is not mounted, and filling the disk below it would be wrong.
   */
  async createRoot(): Promise<void> {
    try {
      await Deno.mkdir(this.root);
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) return;
      if (err instanceof Deno.errors.NotFound) {
        throw new SafetyError(
          `The folder that should hold "${this.root}" does not exist (drive unplugged or share not mounted?): create "${
            path.dirname(this.root)
          }" first`,
        );
      }
      throw err;
    }
  }

  /**
   * Learn how the file system under the root keeps times and names, by a probe file written
   * there and removed: its time precision (a FAT or exFAT USB stick keeps 2 s or 10 ms, so a
   * copy's time differs from its source's and would be copied again every run) and whether
   * names differ by case (FAT and exFAT are case-insensitive on Linux too; APFS may be
   * case-sensitive). Nothing is changed when the root cannot be written: the guesses stay.
   */
  probe(): void {
    let probe = this.#prefix + tempName();
    try {
      Deno.writeFileSync(probe, new Uint8Array(0), { createNew: true });
    } catch {
      return; // read-only or missing: keep what the platform suggests
    }
    try {
      // An odd second and one millisecond: every coarser precision shows in what comes back.
      const t = PROBE_TIME;
      Deno.utimeSync(probe, t / 1000, t / 1000);
      const back = Deno.lstatSync(probe).mtime?.getTime() ?? t;
      this.caps.timePrecision = [1, 10, 100, 1000, 2000].find((p) => Math.abs(t - back) < p) ??
        2000;
      const base = probe.slice(this.#prefix.length);
      try {
        Deno.lstatSync(this.#prefix + base.toUpperCase());
        this.caps.caseInsensitive = true;
      } catch {
        this.caps.caseInsensitive = false;
      }
      // Writes land by rename: a rename that resets the time must be followed by a retime.
      const renamed = this.#prefix + tempName();
      Deno.renameSync(probe, renamed);
      probe = renamed;
      this.caps.retimeAfterRename = Deno.lstatSync(renamed).mtime?.getTime() !== back;
    } catch {
      /* keep the guesses */
    } finally {
      try {
        Deno.removeSync(probe);
      } catch { /* gone */ }
    }
  }

  /** A copy beside the original, atomically (temporary name, then rename), keeping its time. */
  copy(from: string, to: string): Promise<Entry> {
    try {
      const src = this.localPath(from);
      const info = Deno.lstatSync(src);
      if (!info.isFile) throw new Deno.errors.NotFound(`"${from}" is not a file`);
      const dst = this.localPath(to);
      Deno.mkdirSync(path.dirname(dst), { recursive: true });
      const got = copyFileAtomicSync(src, dst, info.mtime?.getTime() ?? Date.now());
      return Promise.resolve({ key: checkKey(to), kind: "file", size: got.size, mtime: got.mtime });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  setModTime(key: string, mtime: number): Promise<Entry> {
    try {
      const p = this.localPath(key);
      Deno.utimeSync(p, new Date(), new Date(mtime));
      return Promise.resolve(toEntry(checkKey(key), Deno.lstatSync(p)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * When the file at `key` came into being (ms), where the file system records it. A file
   * born after a pass saw another file with its inode cannot be that file renamed.
   */
  birthTime(key: string): number | undefined {
    try {
      return Deno.lstatSync(this.localPath(key)).birthtime?.getTime() ?? undefined;
    } catch {
      return undefined;
    }
  }

  async list(options: ListOptions = {}): Promise<Listing> {
    const scope = normaliseScope(options.under);
    if (scope) return await this.#listUnder(scope, options);
    const [raw] = await walkTrees([this.root], options.exclude ?? [], this.#walk);
    return await this.#listing(raw!);
  }

  /**
   * A listing of some subtrees only: each is walked on its own (the rest of the tree is never
   * read), keys put back below the root, the folders leading to them added, and the exclude
   * patterns applied to the whole keys.
   */
  async #listUnder(scope: string[], options: ListOptions): Promise<Listing> {
    const skip = (await loadFilter(options.exclude ?? [])) ?? (() => false);
    const out: Listing = { entries: [], problems: [], skipped: [] };
    const excluded = (key: string, dir: boolean) =>
      isOwnKey(key) || skip(key, dir) || [...scopeParents([key])].some((p) => skip(p, true));
    for (const p of scopeParents(scope)) {
      const e = await this.stat(p);
      if (e?.kind === "dir") out.entries.push(this.#withIds(e));
    }
    const trees: string[] = [];
    for (const s of scope) {
      const e = await this.stat(s);
      if (!e || excluded(s, e.kind === "dir")) continue;
      out.entries.push(this.#withIds(e));
      if (e.kind === "dir") trees.push(s);
    }
    if (trees.length === 0) return out;
    const raws = await walkTrees(trees.map((t) => this.localPath(t)), [], this.#walk);
    for (const [i, raw] of raws.entries()) {
      const base = trees[i]! + "/";
      raw.paths = raw.paths.map((p) => base + p);
      for (const t of raw.temps) t.key = base + t.key;
      raw.problems = raw.problems.map((p) => ({ ...p, key: p.key ? base + p.key : trees[i]! }));
      raw.skipped = raw.skipped.map((k) => ({ ...k, key: base + k.key }));
      const part = await this.#listing(raw, true);
      const gone: string[] = [];
      for (const e of part.entries) {
        if (gone.some((g) => isWithin(e.key, g))) continue;
        if (skip(e.key, e.kind === "dir")) {
          if (e.kind === "dir") gone.push(e.key);
          continue;
        }
        out.entries.push(e);
      }
      out.problems.push(...part.problems);
      out.skipped.push(...part.skipped);
    }
    return out;
  }

  #withIds(e: Entry): Entry {
    if (!this.caps.inodes) {
      delete e.ino;
      delete e.dev;
    }
    return e;
  }

  /** Two local trees are walked together: both threads stay busy until both are done. */
  async listWith(peer: Backend, options: ListOptions): Promise<[Listing, Listing] | undefined> {
    if (!(peer instanceof LocalBackend)) return undefined;
    const [mine, theirs] = await walkTrees(
      [this.root, peer.root],
      options.exclude ?? [],
      this.#walk,
    );
    return [await this.#listing(mine!), await peer.#listing(theirs!)];
  }

  async #listing(raw: RawTree, keepNative = false): Promise<Listing> {
    let entries: Entry[] = new Array(raw.paths.length);
    const inodes = this.caps.inodes;
    if (!keepNative) this.#native.clear();
    for (let i = 0; i < raw.paths.length; i++) {
      const native = raw.paths[i]!;
      // Most names are ASCII, which is always NFC: skip the costly normalisation for them.
      const key = ASCII.test(native) ? native : native.normalize("NFC");
      if (key !== native) this.#native.set(key, native);
      // Every field in one literal: the entry keeps them in the object itself. Added one by
      // one they went to a second array per entry (29 MB more at 200,000 files). A number
      // read from a typed array is a boxed double (14 bytes each); small integers are made
      // small integers again, which are stored unboxed (56 MB less at 200,000 files).
      entries[i] = inodes
        ? {
          key,
          kind: raw.dirs[i] ? "dir" : "file",
          size: small(raw.sizes[i]!),
          mtime: raw.mtimes[i]!,
          ino: small(raw.inos[i]!),
          dev: small(raw.devs[i]!),
          mode: raw.modes[i]! | 0,
          mtimeNs: raw.nanos[i]! | 0,
        }
        : {
          key,
          kind: raw.dirs[i] ? "dir" : "file",
          size: small(raw.sizes[i]!),
          mtime: raw.mtimes[i]!,
          mode: raw.modes[i]! | 0,
          mtimeNs: raw.nanos[i]! | 0,
        };
    }
    const problems = [...raw.problems];
    // Only a name spelled in another normal form can meet another name under its NFC key.
    if (this.#native.size > 0) entries = this.#dropTwins(entries, raw.paths, problems);
    await this.#removeStaleTemps(raw.temps);
    return { entries, problems, skipped: raw.skipped };
  }

  /**
   * Two names that differ only in Unicode normalisation (legal on Linux) are one key to ferry
   * and cannot both be synced: the one already in NFC is kept, the other fails, named.
   */
  #dropTwins(entries: Entry[], natives: string[], problems: Listing["problems"]): Entry[] {
    const first = new Map<string, number>();
    const drop = new Set<number>();
    for (let i = 0; i < entries.length; i++) {
      const key = entries[i]!.key;
      const j = first.get(key);
      if (j === undefined) {
        first.set(key, i);
        continue;
      }
      // Keep the spelling that is NFC already (the key); the other is reported.
      const keepI = natives[i] === key;
      const lose = keepI ? j : i;
      if (keepI) first.set(key, i);
      drop.add(lose);
      problems.push({
        key: natives[lose]!,
        message: `has the same name as "${key}" in another Unicode normal form: only one of the ` +
          "two can be synced; rename one",
      });
    }
    if (drop.size === 0) return entries;
    // The native spelling of a kept key is the kept entry's own.
    for (const i of first.values()) {
      const e = entries[i]!;
      if (natives[i] === e.key) this.#native.delete(e.key);
      else this.#native.set(e.key, natives[i]!);
    }
    return entries.filter((_, i) => !drop.has(i));
  }

  /** Temp files of a run killed more than ten minutes ago are removed: they are ours. */
  async #removeStaleTemps(temps: RawTree["temps"]): Promise<void> {
    const cutoff = Date.now() - 10 * 60_000;
    for (const t of temps) {
      // Old ones go whoever made them; on Linux, also those of a process that no longer runs
      // (a run killed a moment ago), told by the process id in the name.
      const owner = tempOwner(t.key.slice(t.key.lastIndexOf("/") + 1));
      if (t.mtime < cutoff || (owner !== undefined && processGone(owner))) {
        await Deno.remove(path.join(this.root, ...t.key.split("/"))).catch(() => {});
      }
    }
  }

  // Metadata calls are synchronous on purpose: on these machines a sync call costs a fraction
  // of an async one, and each blocks for microseconds only.
  stat(key: string): Promise<Entry | undefined> {
    try {
      return Promise.resolve(toEntry(checkKey(key), Deno.lstatSync(this.localPath(key))));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
        return Promise.resolve(undefined);
      }
      return Promise.reject(err);
    }
  }

  /**
   * The content as a stream that fails, at its end, when the file changed while it was read
   * (size, modification or change time differ from when it was opened): whoever writes the
   * stream somewhere then drops what it wrote, so no torn copy lands anywhere.
   */
  async read(key: string): Promise<ReadableStream<Uint8Array>> {
    const path = this.localPath(key);
    // A small file is read whole with synchronous calls (about 10 µs here, against 100 µs for
    // an async open, read and close: 10,000 files into an archive took 3.2 s, then 1.x s),
    // between two looks at it that must agree.
    const small = readSmallFile(path, key);
    if (small) return streamOf(small.bytes);
    const f = await Deno.open(path, { read: true });
    return verifiedStream(f, key);
  }

  /** Run `fn` on a temp path beside `key`, then rename it into place; the temp never lingers. */
  async #atomic(key: string, fn: (tmp: string) => Promise<void>, mtime: number): Promise<Entry> {
    const final = this.localPath(key);
    const dir = path.dirname(final);
    const tmp = path.join(dir, tempName());
    try {
      try {
        await fn(tmp);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        // The parent folder is missing (new, or deleted mid-run): create it and try once more.
        await Deno.mkdir(dir, { recursive: true });
        await fn(tmp);
      }
      await Deno.utime(tmp, new Date(), new Date(mtime));
      await Deno.rename(tmp, final);
      if (this.caps.retimeAfterRename) await Deno.utime(final, new Date(), new Date(mtime));
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
    return toEntry(checkKey(key), await Deno.lstat(final));
  }

  write(key: string, data: ReadableStream<Uint8Array>, meta: WriteMeta): Promise<Entry> {
    return this.#atomic(key, async (tmp) => {
      const f = await Deno.open(tmp, { write: true, createNew: true });
      try {
        // Counted as written, and the file looked at: a full disk or a body cut short without
        // an error (a dropped connection) never lands as complete.
        await writeStreamExactly(f, data, meta.size, key);
      } finally {
        f.close();
      }
    }, meta.mtime);
  }

  copyInFromPath(src: string, key: string, meta: WriteMeta): Promise<Entry> {
    try {
      const got = copyFileAtomicSync(
        src,
        this.localPath(key),
        meta.mtime,
        undefined,
        undefined,
        undefined,
        undefined,
        this.caps.retimeAfterRename,
      );
      return Promise.resolve({
        key: checkKey(key),
        kind: "file",
        size: got.size,
        mtime: got.mtime,
      });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  remove(key: string): Promise<void> {
    return attempt(() => Deno.removeSync(this.localPath(key)));
  }

  mkdir(key: string): Promise<void> {
    return attempt(() => Deno.mkdirSync(this.localPath(key), { recursive: true }));
  }

  rmdir(key: string): Promise<void> {
    return attempt(() => Deno.removeSync(this.localPath(key)));
  }

  // Synchronous calls, as remove's: a deletion kept in the trash is a move, a thousand of them
  // a pass, and each async call costs a trip through the thread pool.
  async move(from: string, to: string): Promise<void> {
    const dst = this.localPath(to);
    if (await this.stat(to)) throw new Deno.errors.AlreadyExists(`"${to}" already exists`);
    await attempt(() => {
      Deno.mkdirSync(path.dirname(dst), { recursive: true });
      Deno.renameSync(this.localPath(from), dst);
    });
    this.#native.delete(checkKey(from));
  }

  /** A hard link: the old version keeps a name while a write renames a new one over it. */
  link(from: string, to: string): Promise<void> {
    const dst = this.localPath(to);
    return attempt(() => {
      Deno.mkdirSync(path.dirname(dst), { recursive: true });
      Deno.linkSync(this.localPath(from), dst);
    });
  }

  listOwn(folder: string, top = false): Promise<Entry[]> {
    const out: Entry[] = [];
    const walk = (key: string) => {
      let items: Deno.DirEntry[];
      try {
        items = [...Deno.readDirSync(this.localPath(key))];
      } catch (err) {
        if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
          return;
        }
        throw err;
      }
      for (const it of items) {
        const k = `${key}/${it.name.normalize("NFC")}`;
        if (top) out.push({ key: k, kind: it.isDirectory ? "dir" : "file", size: 0, mtime: 0 });
        else if (it.isDirectory) walk(k);
        else if (it.isFile) out.push(toEntry(k, Deno.lstatSync(this.localPath(k))));
      }
    };
    try {
      walk(checkKey(folder));
      return Promise.resolve(out);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A file's content that errors at its end if the file changed while it was read. */
function verifiedStream(f: Deno.FsFile, key: string): ReadableStream<Uint8Array> {
  let before: Deno.FileInfo | undefined;
  let closed = false;
  const close = () => {
    if (!closed) f.close();
    closed = true;
  };
  return new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 256 << 10,
    async pull(c: ReadableByteStreamController) {
      try {
        if (!before) {
          before = f.statSync();
          // A file modified a moment ago could change again without its time changing:
          // wait until it could not, then look again (see RACY_MS).
          for (let i = 0; i < 3 && isRacy(before); i++) {
            await sleep((before!.mtime?.getTime() ?? 0) + RACY_MS - Date.now() + 1);
            before = f.statSync();
          }
          if (isRacy(before)) throw new Error(`"${key}" is being written; the next run copies it`);
        }
        const view = c.byobRequest!.view!;
        const buf = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
        const n = await f.read(buf);
        if (n !== null && n > 0) {
          c.byobRequest!.respond(n);
          return;
        }
        const after = f.statSync();
        close();
        if (!sameVersion(before, after)) {
          c.error(new Error(`"${key}" changed while it was copied; the next run copies it`));
          return;
        }
        c.close();
        c.byobRequest?.respond(0);
      } catch (err) {
        close();
        c.error(err);
      }
    },
    cancel() {
      close();
    },
  }) as ReadableStream<Uint8Array>;
}
