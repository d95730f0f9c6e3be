/**
 * A ZIP archive as a location (`zip:path/archive.zip`). The archive is read through its
 * central directory with random access, one entry at a time (a multi-GB archive is never
 * loaded whole). Changes are made in place and never by rewriting the archive, and the archive
 * stays whole for every reader until they are committed:
 *
 * - while a pass runs, new and changed entries (and renamed ones, their bytes copied) are
 *   packed into a file beside the archive (`NAME.ferry-pack-<pid>`); the archive is not
 *   touched;
 * - the commit appends them after the old end record, then a new directory and end record:
 *   readers find an end record at the end of the file again once that append is done (it is
 *   one write of the packed bytes and the directory). The old directory, replaced and deleted
 *   entries become holes, filled with nameless padding entries so that a streaming reader
 *   skips them;
 * - before the append, a journal beside the archive (`.NAME.ferry-journal`, made durable
 *   first) records where the archive ended, where it will end and the appended bytes' CRC: a
 *   commit that was interrupted is cut back to the old archive, or, when all of it reached the
 *   file, its holes are filled, when the archive is next opened;
 * - an archive with nothing before its end record (a new one) is written whole beside itself
 *   and renamed over;
 * - the backend is transactional: writes between `begin()` and `commit()` become one new
 *   directory, durable before the engine records anything in its state.
 *
 * @module
 */
import * as nodePath from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import {
  type Backend,
  type BulkCopy,
  type BulkFile,
  type BulkResult,
  type Capabilities,
  type Entry,
  type Listing,
  type ListOptions,
  type ListProblem,
  osPathOf,
  type WriteMeta,
} from "../backend.ts";
import { readSmallFile } from "../local/copy.ts";
import { besideArchive, COMPACT_TAG, NEW_TAG, PACK_TAG, TEMP_TAGS } from "./names.ts";
import { looksIncompressible, type Packed, packOne, packWithWorkers } from "./pack.ts";
import { describeError, LocationError, SafetyError, TargetChanged } from "../../errors.ts";
import {
  checkKey,
  inScope,
  isOwnKey,
  isWithin,
  normaliseScope,
  parentKey,
  processGone,
  scopeParents,
} from "../../paths.ts";
import { loadFilter } from "../../scan/filter.ts";
import { readExactly } from "../../util/streams.ts";
import { sleep } from "../../util/timer.ts";
import {
  type CentralEntry,
  centralRecord,
  endRecords,
  EOCD_SIZE,
  fillHole,
  findEnd,
  FLAG_DESCRIPTOR,
  FLAG_ENCRYPTED,
  LOCAL_SIZE,
  localHeader,
  MAX32,
  METHOD_DEFLATE,
  METHOD_STORED,
  type NewEntry,
  parseCentral,
  SIG_CENTRAL,
  SIG_LOCAL,
  TIME_EXTRAS_SIZE,
} from "./format.ts";

/** From this many files on, two Workers read and compress them (their start costs ~50 ms). */
const WORKERS_FROM = 512;
/** Files up to this size are compressed in one call (native, fast); larger ones stream. */
const WHOLE_MAX = 8 << 20;
/** Chunk size for reading entries and copying raw entry bytes. */
const CHUNK = 1 << 20;
/** The first bytes of the journal ferry wrote before it packed updates beside the archive. */
const JOURNAL_MAGIC_1 = "FERRYZJ1";
/** The journal's first bytes. */
const JOURNAL_MAGIC = "FERRYZJ2";
/**
 * The journal: magic, the archive's old end, its new end, the CRC of the bytes between, the
 * number of holes; then each hole (start, end), and the CRC of all that.
 */
const JOURNAL_HEAD = 32;
/** A commit appends its packed entries in one write with the directory up to this size. */
const COMMIT_WHOLE = 32 << 20;

/** An entry as the backend holds it. */
interface Item {
  key: string;
  dir: boolean;
  /** Where its local header starts, and the entry's fields. */
  e: CentralEntry | (NewEntry & { flags: number; precision: number });
  /** The directory record as read, reused while the entry is not rewritten. */
  raw?: Uint8Array | undefined;
}

/** A folder location: what `write` and friends need, and the three ZIP-specific steps. */
export class ZipBackend implements Backend {
  readonly display: string;
  readonly id: string;
  readonly caps: Capabilities = {
    local: false,
    // ferry writes NTFS times (100 ns) beside the extended timestamp (1 s) and the DOS time.
    timePrecision: 1,
    caseInsensitive: false,
    inodes: false,
    modTime: "stored",
    dirs: true,
    // Sources are read several at a time; each entry is then placed at the end in one go.
    concurrency: 8,
    transactional: true,
    // Files from a local folder are packed on two Workers.
    fast: { copyMany: true },
  };
  /** Absolute path of the archive. */
  readonly path: string;
  /** Content bytes written by `write` (not by renames): tests and benchmarks read it. */
  bytesWritten = 0;
  #journal: string;
  #items = new Map<string, Item>();
  /** Names the archive holds that ferry refuses (zip-slip, encrypted): listed as problems. */
  #refused: ListProblem[] = [];
  /** Keys ferry leaves alone (refused names, encrypted entries, names held twice). */
  #untouchable = new Set<string>();
  /** Entries ferry does not list but keeps in every directory it writes (never lost). */
  #kept: Item[] = [];
  /** Where the directory begins. */
  #cdOffset = 0;
  /** The pass changed something: a new directory is written at commit. */
  #dirty = false;
  /**
   * Where the update's new entries will start in the archive: its size when the update began
   * (0 when the archive held nothing but its end record: the pack is then the new archive).
   */
  #base = 0;
  /** Where the next new entry goes: its offset in the archive once committed. */
  #pos = 0;
  /** The update's new entries, packed beside the archive (made at the first one). */
  #pack: Deno.FsFile | undefined;
  #packPath: string;
  /**
   * The archive, opened for writing when the update begins (an archive that cannot be written
   * fails each change, as it did when changes went into it): renames read from it, the commit
   * appends to it.
   */
  #out: Deno.FsFile | undefined;
  #inTx = false;
  /** Where the pack's position is (as an offset in the archive), when known (-1: unknown). */
  #at = -1;
  /** A large entry is being streamed in: it holds the archive's end until it is done. */
  #busy = false;
  /** Settles when the entry being streamed in is done. */
  #streaming: Promise<void> = Promise.resolve();
  /** Regions of entries no longer in the directory, to fill once the new one is durable. */
  #dead: [number, number][] = [];
  /** Offset → end of every entry as loaded (the extent of what a replaced entry frees). */
  #extent = new Map<number, number>();
  #loaded = false;
  /** The archive's size and time when its directory was last read or written. */
  #loadedAs = "";
  /** `.NAME.ferry-lock` beside the archive, locked from `open` to the pass's end. */
  #lockPath: string;
  #lock: Deno.FsFile | undefined;

  /**
   * @param path The archive's path.
   * @param display How to name it in messages.
   */
  constructor(path: string, display?: string) {
    this.path = nodePath.resolve(path);
    this.display = display ?? `zip:${path}`;
    this.id = `zip:${this.path}`;
    this.#journal = besideArchive(this.path, "journal");
    this.#lockPath = besideArchive(this.path, "lock");
    this.#packPath = `${this.path}${PACK_TAG}${Deno.pid}`;
  }

  /**
   * Hold the archive for this pass: another ferry run (another job, another state) that wrote
   * it meanwhile would write its directory over this one's, and its journal would be taken for
   * a killed run's and cut back. A run that finds it held is refused (exit 3), nothing changed.
   * Where no lock file can be made (a read-only medium; the folder not there yet) nobody else
   * can write either, and none is taken.
   */
  #takeLock(): void {
    for (let i = 0; i < 10 && !this.#lock; i++) {
      let f: Deno.FsFile;
      try {
        f = Deno.openSync(this.#lockPath, { read: true, write: true, create: true });
      } catch {
        return;
      }
      let held = false;
      try {
        held = f.tryLockSync(true);
      } catch {
        f.close();
        return;
      }
      if (!held) {
        f.close();
        throw new SafetyError(
          `"${this.display}" is in use by another ferry run: nothing was changed; run again when it is done`,
        );
      }
      // The run that held it removed it on its way out (and another may have made it anew):
      // held, it must still be the file at that name.
      if (sameFile(f, this.#lockPath)) this.#lock = f;
      else f.close();
    }
  }

  #dropLock(): void {
    const f = this.#lock;
    if (!f) return;
    this.#lock = undefined;
    // Removed while still held, so no run can take this one after it. On Windows a removed
    // file keeps its name until every handle is closed, and a run then cannot open it: there
    // it stays.
    if (Deno.build.os !== "windows") {
      try {
        Deno.removeSync(this.#lockPath);
      } catch { /* gone already */ }
    }
    try {
      f.close();
    } catch { /* closed already */ }
  }

  /** The pass is over: the archive is let go (a watching run holds it only while it passes). */
  endPass(): void {
    if (!this.#dirty) this.#dropLock();
  }

  /** Whether the archive exists; an interrupted update is cut back first, then it is read. */
  open(): Promise<{ exists: boolean }> {
    try {
      this.#takeLock();
      // A new archive a killed run left half made is tidied even while there is no archive.
      this.#removeLeftovers();
      const info = Deno.statSync(this.path);
      if (!info.isFile) throw new LocationError(`"${this.path}" is not a file`);
      this.#recover();
      // Opened again (the CLI opens a source before the pass does): the directory is read once
      // while the file is as it was read.
      if (!this.#loaded || this.#loadedAs !== versionOf(this.path)) this.#load();
    } catch (err) {
      // Not opened (no archive, or a damaged one): nothing of this run is left beside it.
      this.#dropLock();
      if (err instanceof Deno.errors.NotFound) return Promise.resolve({ exists: false });
      return Promise.reject(err);
    }
    return Promise.resolve({ exists: true });
  }

  rootExists(): Promise<boolean> {
    try {
      return Promise.resolve(Deno.statSync(this.path).isFile);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return Promise.resolve(false);
      return Promise.reject(err);
    }
  }

  /** An empty archive (its end record alone), made atomically; never its folder. */
  createRoot(): Promise<void> {
    const dir = nodePath.dirname(this.path);
    try {
      Deno.statSync(dir);
    } catch {
      return Promise.reject(
        new SafetyError(
          `The folder that should hold "${this.path}" does not exist (drive unplugged or share not mounted?): create "${dir}" first`,
        ),
      );
    }
    try {
      Deno.statSync(this.path);
      return Promise.resolve();
    } catch { /* missing: made below */ }
    const tmp = `${this.path}${NEW_TAG}${Deno.pid}`;
    Deno.writeFileSync(tmp, endRecords(0, 0, 0));
    Deno.renameSync(tmp, this.path);
    this.#items.clear();
    this.#cdOffset = 0;
    this.#loaded = true;
    this.#loadedAs = versionOf(this.path);
    return Promise.resolve();
  }

  /** Compactions, packs and new archives that a killed run left half made beside the archive. */
  #removeLeftovers(): void {
    const dir = nodePath.dirname(this.path);
    const base = nodePath.basename(this.path);
    try {
      for (const e of Deno.readDirSync(dir)) {
        for (const kind of TEMP_TAGS) {
          if (!e.name.startsWith(base + kind)) continue;
          const pid = Number(e.name.slice(base.length + kind.length));
          if (Number.isInteger(pid) && processGone(pid)) {
            Deno.removeSync(nodePath.join(dir, e.name));
          }
        }
      }
    } catch { /* unreadable folder: nothing to tidy */ }
  }

  /**
   * Finish or undo a commit that was interrupted, from the journal: when every byte it was to
   * append is in the file (their CRC says so), the new directory is there and durable, and only
   * its holes are left to fill; otherwise the archive is cut back to where it ended before.
   */
  #recover(): void {
    let j: Uint8Array;
    try {
      j = Deno.readFileSync(this.#journal);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    const v = new DataView(j.buffer, j.byteOffset, j.byteLength);
    const magic = new TextDecoder().decode(j.subarray(0, 8));
    if (magic === JOURNAL_MAGIC_1) this.#recoverV1(j, v);
    else if (magic === JOURNAL_MAGIC && j.length >= JOURNAL_HEAD + 4) {
      const holes = v.getUint32(28, true);
      const body = JOURNAL_HEAD + 16 * holes;
      // An incomplete journal means the archive was never touched: it only goes.
      if (j.length === body + 4 && crc32(j.subarray(0, body)) === v.getUint32(body, true)) {
        const base = Number(v.getBigUint64(8, true));
        const end = Number(v.getBigUint64(16, true));
        const f = Deno.openSync(this.path, { read: true, write: true });
        try {
          const size = f.statSync().size;
          if (size === end && crcOf(f, base, end) === v.getUint32(24, true)) {
            for (let i = 0; i < holes; i++) {
              const s = Number(v.getBigUint64(JOURNAL_HEAD + 16 * i, true));
              const e = Number(v.getBigUint64(JOURNAL_HEAD + 16 * i + 8, true));
              f.seekSync(s, Deno.SeekMode.Start);
              writeAll(f, fillHole(e - s));
            }
          } else {
            f.truncateSync(base);
          }
          f.syncSync();
        } finally {
          f.close();
        }
      }
    }
    Deno.removeSync(this.#journal);
    syncDir(nodePath.dirname(this.path));
  }

  /** A journal of an earlier ferry, which wrote updates over the old directory: put it back. */
  #recoverV1(j: Uint8Array, v: DataView): void {
    const head = 8 + 8 + 8 + 4;
    const complete = j.length >= head &&
      j.length === head + Number(v.getBigUint64(16, true) - v.getBigUint64(8, true)) &&
      crc32(j.subarray(head)) === v.getUint32(24, true);
    if (!complete) return;
    const from = Number(v.getBigUint64(8, true));
    const f = Deno.openSync(this.path, { read: true, write: true });
    try {
      f.truncateSync(from);
      f.seekSync(from, Deno.SeekMode.Start);
      writeAll(f, j.subarray(head));
      f.syncSync();
    } finally {
      f.close();
    }
  }

  /** Read the central directory. */
  #load(): void {
    const f = Deno.openSync(this.path, { read: true });
    try {
      const { entries, shift, cdAt } = this.#readCentral(f);
      this.#sortEntries(entries, shift);
      // Each entry's extent: up to the next entry (or the directory) in file order.
      const starts = entries.map((e) => e.offset).sort((a, b) => a - b);
      this.#extent.clear();
      for (let i = 0; i < starts.length; i++) {
        this.#extent.set(starts[i]!, i + 1 < starts.length ? starts[i + 1]! : cdAt);
      }
      this.#cdOffset = cdAt;
      this.#loaded = true;
      this.#loadedAs = versionOf(this.path);
    } finally {
      f.close();
    }
  }

  /**
   * The central directory's entries; `cdAt`, where it starts, and `shift`, the length of any
   * bytes before the archive (a self-extractor), by which every offset is moved.
   */
  #readCentral(f: Deno.FsFile): { entries: CentralEntry[]; shift: number; cdAt: number } {
    const size = f.statSync().size;
    const readAt = (offset: number, length: number) => pread(f, offset, length);
    const tailLen = Math.min(size, 0xffff + EOCD_SIZE);
    const end = findEnd(readAt(size - tailLen, tailLen), size - tailLen, readAt);
    if (!end) {
      throw new LocationError(
        `"${this.path}" is not a ZIP archive (no end record: damaged or cut short?)`,
      );
    }
    // Bytes before the archive (a self-extractor): offsets are shifted by their length.
    let shift = 0;
    const probe = (at: number) =>
      at >= 0 && at + 4 <= size &&
      new DataView(readAt(at, 4).buffer).getUint32(0, true) === SIG_CENTRAL;
    if (end.entries > 0 && !probe(end.cdOffset)) {
      const guess = end.endOffset - end.cdSize;
      if (!probe(guess)) {
        throw new LocationError(
          `"${this.path}" is damaged: its central directory is not where its end record says`,
        );
      }
      shift = guess - end.cdOffset;
    }
    const cdAt = end.cdOffset + shift;
    if (cdAt + end.cdSize > size) {
      throw new LocationError(
        `"${this.path}" is cut short: its central directory runs past the end`,
      );
    }
    let entries: CentralEntry[];
    try {
      entries = parseCentral(readAt(cdAt, end.cdSize));
    } catch (err) {
      throw new LocationError(`"${this.path}" is damaged: ${(err as Error).message}`);
    }
    if (entries.length !== end.entries) {
      throw new LocationError(
        `"${this.path}" is damaged: its directory holds ${entries.length} of ${end.entries} entries`,
      );
    }
    return { entries, shift, cdAt };
  }

  /** Sort the directory's entries into those listed, those kept as they are, and refusals. */
  #sortEntries(entries: CentralEntry[], shift: number): void {
    this.#items.clear();
    this.#refused = [];
    this.#untouchable.clear();
    this.#kept = [];
    /** Each key's entries: a name held twice is refused (which one is meant?). */
    const byKey = new Map<string, Item[]>();
    const refuse = (it: Item, op: string, message: string) => {
      this.#kept.push(it);
      this.#untouchable.add(it.key);
      this.#refused.push({ key: it.key, op, message });
    };
    for (const e of entries) {
      e.offset += shift;
      const dir = e.name.endsWith("/");
      const name = dir ? e.name.slice(0, -1) : e.name;
      // With bytes before the archive, records are written anew with true offsets.
      const raw = shift === 0 ? e.raw : shiftedRecord(e);
      let key: string;
      try {
        key = entryKey(name);
      } catch {
        refuse(
          { key: name, dir, e, raw },
          "list",
          "an entry whose name points outside the archive's root (refused)",
        );
        continue;
      }
      // A folder entry for the root itself (`./`): nothing to list, kept as it is.
      if (key === "") {
        this.#kept.push({ key, dir, e, raw });
        continue;
      }
      const it: Item = { key, dir, e, raw };
      if (!dir && e.flags & FLAG_ENCRYPTED) {
        refuse(it, "read", "encrypted in the archive: ferry cannot decrypt it; left as it is");
        continue;
      }
      if (!dir && e.method !== METHOD_STORED && e.method !== METHOD_DEFLATE) {
        refuse(
          it,
          "read",
          `compressed with method ${e.method}, which ferry cannot read; left as it is`,
        );
        continue;
      }
      const same = byKey.get(key);
      if (same) same.push(it);
      else byKey.set(key, [it]);
    }
    for (const [key, its] of byKey) {
      // The same folder named twice says nothing twice: one is listed, the other kept.
      if (its.length === 1 || its.every((it) => it.dir)) {
        this.#items.set(key, its[0]!);
        this.#kept.push(...its.slice(1));
        continue;
      }
      this.#kept.push(...its);
      this.#untouchable.add(key);
      this.#refused.push({
        key,
        op: "list",
        message:
          `the archive holds ${its.length} entries of this name: readers disagree on which one it is; all are left as they are`,
      });
    }
  }

  #ready(): void {
    if (!this.#loaded) this.#load();
  }

  /** The file entry at `key`, or NotFound. */
  #file(key: string): Item {
    this.#ready();
    const it = this.#items.get(checkKey(key));
    if (!it || it.dir) throw new Deno.errors.NotFound(`No such file "${key}" in the archive`);
    return it;
  }

  /** Whether any entry lies below the folder `key`. */
  #hasBelow(key: string): boolean {
    for (const other of this.#items.keys()) if (other !== key && isWithin(other, key)) return true;
    return false;
  }

  async list(options: ListOptions = {}): Promise<Listing> {
    this.#ready();
    const filter = (await loadFilter(options.exclude ?? [])) ?? (() => false);
    const scope = normaliseScope(options.under);
    const leads = new Set(scope ? scopeParents(scope) : []);
    const keep = (key: string, dir: boolean) =>
      !filter(key, dir) && !isOwnKey(key) && (inScope(key, scope) || (dir && leads.has(key)));
    const entries: Entry[] = [];
    const dirs = new Set<string>();
    for (const it of this.#items.values()) {
      for (let p = parentKey(it.key); p !== ""; p = parentKey(p)) dirs.add(p);
      if (it.dir) dirs.add(it.key);
      else if (keep(it.key, false)) entries.push(this.#entry(it));
    }
    for (const d of dirs) {
      if (keep(d, true)) entries.push({ key: d, kind: "dir", size: 0, mtime: this.#dirTime(d) });
    }
    // Below an excluded folder nothing is listed.
    const out = options.exclude?.length
      ? entries.filter((e) => ![...scopeParents([e.key])].some((p) => filter(p, true)))
      : entries;
    out.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    return {
      entries: out,
      problems: this.#refused.filter((r) => inScope(r.key, scope)),
      skipped: [],
    };
  }

  #dirTime(key: string): number {
    const it = this.#items.get(key);
    return it?.dir ? it.e.mtime : 0;
  }

  #entry(it: Item): Entry {
    const e = it.e;
    const out: Entry = {
      key: it.key,
      kind: it.dir ? "dir" : "file",
      size: it.dir ? 0 : e.usize,
      mtime: e.mtime,
      // Content only (a rename moves an entry's bytes: the same content at another offset).
      stamp: `${e.crc}:${e.csize}:${e.usize}`,
    };
    // An entry made elsewhere with a 1 s or 2 s time is compared with that much slack.
    if (e.precision > 1) out.precision = e.precision;
    return out;
  }

  stat(key: string): Promise<Entry | undefined> {
    try {
      this.#ready();
      const k = checkKey(key);
      const it = this.#items.get(k);
      if (it) return Promise.resolve(this.#entry(it));
      if (this.#hasBelow(k)) return Promise.resolve({ key: k, kind: "dir", size: 0, mtime: 0 });
      return Promise.resolve(undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  listOwn(folder: string): Promise<Entry[]> {
    try {
      this.#ready();
      const out: Entry[] = [];
      for (const it of this.#items.values()) {
        if (!it.dir && isWithin(it.key, folder) && it.key !== folder) out.push(this.#entry(it));
      }
      return Promise.resolve(out);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** An entry's content, checked against its CRC-32 and size at the end. */
  read(key: string): Promise<ReadableStream<Uint8Array>> {
    try {
      const e = this.#file(key).e;
      // Written in this update: its bytes are in the pack until the commit.
      const packed = this.#dirty && e.offset >= this.#base;
      const f = Deno.openSync(packed ? this.#packPath : this.path, { read: true });
      const delta = packed ? this.#base : 0;
      let start: number;
      try {
        const h = pread(f, e.offset - delta, LOCAL_SIZE);
        const v = new DataView(h.buffer);
        if (h.length < LOCAL_SIZE || v.getUint32(0, true) !== SIG_LOCAL) {
          throw new Error(`"${key}": its local header is missing (damaged archive)`);
        }
        start = e.offset - delta + LOCAL_SIZE + v.getUint16(26, true) + v.getUint16(28, true);
      } catch (err) {
        f.close();
        throw err;
      }
      let at = start;
      const end = start + e.csize;
      const raw = new ReadableStream<Uint8Array>({
        pull(c) {
          if (at >= end) {
            f.close();
            c.close();
            return;
          }
          const chunk = pread(f, at, Math.min(CHUNK, end - at));
          if (chunk.length === 0) {
            f.close();
            c.error(new Error(`"${key}" is cut short in the archive`));
            return;
          }
          at += chunk.length;
          c.enqueue(chunk);
        },
        cancel() {
          f.close();
        },
      });
      const plain = e.method === METHOD_DEFLATE
        ? raw.pipeThrough(
          new DecompressionStream("deflate-raw") as unknown as TransformStream<
            Uint8Array,
            Uint8Array
          >,
        )
        : raw;
      let crc = 0;
      let got = 0;
      return Promise.resolve(plain.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, c) {
            crc = crc32(chunk, crc);
            got += chunk.byteLength;
            c.enqueue(chunk);
          },
          flush(c) {
            if (got !== e.usize || crc !== e.crc) {
              c.error(new Error(`"${key}" is damaged in the archive (CRC or size does not match)`));
            }
          },
        }),
      ));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  begin(): Promise<void> {
    this.#inTx = true;
    return Promise.resolve();
  }

  /**
   * The pass changes the archive: new entries will start at its end (or, when it holds nothing
   * before its end record, make a new archive). Nothing is written to the archive until commit.
   */
  #prepare(): void {
    this.#ready();
    if (this.#dirty) return;
    const empty = this.#cdOffset === 0 && this.#items.size === 0 && this.#kept.length === 0;
    this.#out = Deno.openSync(this.path, { read: true, write: true });
    this.#base = empty ? 0 : this.#out.statSync().size;
    this.#pos = this.#base;
    this.#at = -1;
    this.#dirty = true;
  }

  /** The pack the update's new entries go to, made at the first one. */
  #packFile(): Deno.FsFile {
    this.#prepare();
    this.#pack ??= Deno.openSync(this.#packPath, {
      read: true,
      write: true,
      create: true,
      truncate: true,
    });
    return this.#pack;
  }

  /** Write at an offset of the archive-to-be (in the pack). */
  #writeAt(offset: number, data: Uint8Array): void {
    const f = this.#packFile();
    if (this.#at !== offset) f.seekSync(offset - this.#base, Deno.SeekMode.Start);
    writeAll(f, data);
    this.#at = offset + data.length;
  }

  /** Read bytes at an offset of the archive-to-be: the archive's, or the pack's. */
  #readAt(offset: number, length: number): Uint8Array {
    this.#at = -1;
    if (this.#dirty && offset >= this.#base) {
      return pread(this.#packFile(), offset - this.#base, length);
    }
    return pread(this.#out!, offset, length);
  }

  /** The update is over (committed or not): the pack goes. */
  #endUpdate(): void {
    for (const f of [this.#pack, this.#out]) {
      try {
        f?.close();
      } catch { /* closed already */ }
    }
    if (this.#pack) {
      try {
        Deno.removeSync(this.#packPath);
      } catch { /* renamed over the archive, or gone */ }
    }
    this.#pack = undefined;
    this.#out = undefined;
    this.#dirty = false;
    this.#dead = [];
    this.#at = -1;
  }

  /** A key ferry leaves alone (named twice, encrypted, refused) is never written over. */
  #touchable(key: string): void {
    if (!this.#untouchable.has(key)) return;
    const why = this.#refused.find((r) => r.key === key)?.message ?? "refused";
    throw new Error(`"${key}" is left as it is in the archive: ${why}`);
  }

  /** Run one change: inside a transaction as part of it, else as a transaction of its own. */
  async #change<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.#inTx) return await fn();
    this.#inTx = true;
    try {
      const r = await fn();
      await this.commit();
      return r;
    } catch (err) {
      await this.rollback();
      throw err;
    }
  }

  /** The entry at `key` leaves the directory; its bytes are a hole to fill after commit. */
  #drop(key: string): void {
    const it = this.#items.get(key);
    if (!it) return;
    this.#items.delete(key);
    const end = this.#extent.get(it.e.offset);
    if (end !== undefined) this.#dead.push([it.e.offset, end]);
  }

  write(key: string, data: ReadableStream<Uint8Array>, meta: WriteMeta): Promise<Entry> {
    return this.#change(async () => {
      const k = checkKey(key);
      if (k === "") throw new Deno.errors.IsADirectory("the archive's root is not a file");
      this.#ready();
      this.#touchable(k);
      if (this.#items.get(k)?.dir) throw new Deno.errors.IsADirectory(`"${key}" is a folder`);
      const nameBytes = new TextEncoder().encode(k);
      let e: NewEntry;
      if (meta.size <= WHOLE_MAX) {
        // Read (many at once: the engine runs several writes) and compressed first; then placed
        // without a pause, so that no other write takes the same position.
        const bytes = await readExactly(data, meta.size, key);
        while (this.#busy) await this.#streaming;
        e = this.#place(nameBytes, bytes, meta.mtime);
      } else {
        // Streamed: the header's sizes are written when known (ZIP64 fields where the entry
        // may pass 4 GiB, so that they can be patched in place). One at a time: the archive's
        // end is this entry's until it is done.
        while (this.#busy) await this.#streaming;
        this.#busy = true;
        let done = () => {};
        this.#streaming = new Promise<void>((r) => done = r);
        try {
          e = await this.#writeStreamed(k, nameBytes, data, meta);
        } finally {
          this.#busy = false;
          done();
        }
      }
      return this.#written(k, e);
    });
  }

  /** A file entry just written takes the place of what was at its key. */
  #written(key: string, e: NewEntry): Entry {
    this.#drop(key);
    const it: Item = { key, dir: false, e: { ...e, flags: 0, precision: 1 } };
    this.#items.set(key, it);
    this.bytesWritten += e.usize;
    return this.#entry(it);
  }

  /**
   * Compress a small entry and put it at the archive's end, all in one synchronous go (no
   * other write can take the same place meanwhile).
   */
  #place(nameBytes: Uint8Array, bytes: Uint8Array, mtime: number): NewEntry {
    const packed = looksIncompressible(bytes) ? bytes : deflateRawSync(bytes);
    const stored = packed.length >= bytes.length;
    return this.#placePacked(nameBytes, {
      payload: stored ? bytes : new Uint8Array(packed),
      method: stored ? METHOD_STORED : METHOD_DEFLATE,
      crc: crc32(bytes),
      usize: bytes.length,
      mtime,
    });
  }

  /** Put an entry whose data is compressed already at the archive's end. */
  #placePacked(nameBytes: Uint8Array, p: Extract<Packed, { payload: Uint8Array }>): NewEntry {
    this.#prepare();
    const offset = this.#pos;
    const e: NewEntry = {
      nameBytes,
      method: p.method,
      crc: p.crc,
      csize: p.payload.length,
      usize: p.usize,
      offset,
      mtime: p.mtime,
      mode: 0o100644,
    };
    const head = localHeader(e, false);
    // Entries go one after another: the pack is mostly where the last one ended already.
    this.#writeAt(offset, head);
    this.#writeAt(offset + head.length, p.payload);
    this.#pos = offset + head.length + p.payload.length;
    this.#extent.set(offset, this.#pos);
    return e;
  }

  /**
   * Files of a local folder, in bulk: each small one read whole and compressed (by two Workers
   * when there are many: 10,000 files took 0.84 s on the calling thread) and placed with
   * synchronous calls, no stream in between; large ones streamed as `write` does. A file that
   * changed since the listing goes in as it is now, with its time now.
   */
  copyMany(
    src: Backend,
    files: BulkFile[],
    report: (r: BulkResult) => void,
    signal: AbortSignal,
  ): BulkCopy | undefined {
    if (!src.caps.local || !this.#inTx) return undefined;
    const localPath = (key: string) => osPathOf(src, key)!;
    let yielded = performance.now();
    /** Files reported on (an interruption may leave some unpacked). */
    const placed = new Set<number>();
    const tell = (r: BulkResult) => {
      placed.add(r.id);
      report(r);
    };
    /** Place one file, packed already or not; a large one is streamed. */
    const one = async (id: number, packed: Packed | undefined) => {
      const f = files[id]!;
      if (signal.aborted) {
        tell({ id, ok: false, changed: false, stopped: true, error: "interrupted" });
        return;
      }
      try {
        const k = checkKey(f.key);
        this.#touchable(k);
        const cur = this.#items.get(k);
        if (f.expect && (!cur || cur.dir || cur.e.usize !== f.expect.size)) {
          throw new TargetChanged("changed in the archive since the scan; left as it is");
        }
        if (cur?.dir) throw new Deno.errors.IsADirectory(`"${f.key}" is a folder`);
        const p = packed ??
          packOne(localPath(f.srcKey), f.srcKey, readSmallFile, deflateRawSync, crc32);
        if ("error" in p) throw new Error(p.error);
        let e: Entry;
        if ("payload" in p) {
          while (this.#busy) await this.#streaming;
          e = this.#written(k, this.#placePacked(new TextEncoder().encode(k), p));
        } else {
          e = await this.write(f.key, await src.read(f.srcKey), { size: f.size, mtime: f.mtime });
        }
        tell({ id, ok: true, size: e.size, mtime: e.mtime });
      } catch (err) {
        tell({
          id,
          ok: false,
          changed: err instanceof TargetChanged,
          error: describeError(err),
        });
      }
      // Every 50 ms the event loop runs: Ctrl-C, progress.
      if (performance.now() - yielded > 50) {
        await sleep(0);
        yielded = performance.now();
      }
    };
    const done = files.length >= WORKERS_FROM
      ? (async () => {
        let paths: string[];
        try {
          paths = files.map((f) => localPath(f.srcKey));
        } catch {
          // A name this archive's source cannot spell (refused one by one below).
          for (const id of files.keys()) await one(id, undefined);
          return;
        }
        await packWithWorkers(paths, files.map((f) => f.srcKey), async (first, results) => {
          for (const [i, p] of results.entries()) await one(first + i, p);
        }, signal);
        // What an interruption left unpacked is reported as stopped.
        for (let id = 0; id < files.length; id++) if (!placed.has(id)) await one(id, undefined);
      })()
      : (async () => {
        for (const id of files.keys()) await one(id, undefined);
      })();
    return { inFlight: () => 0, done };
  }

  /** A large entry, compressed as it streams in. */
  async #writeStreamed(
    key: string,
    nameBytes: Uint8Array,
    data: ReadableStream<Uint8Array>,
    meta: WriteMeta,
  ): Promise<NewEntry> {
    const f = this.#packFile();
    this.#at = -1;
    const offset = this.#pos;
    const zip64 = meta.size > 0xfff00000;
    const e: NewEntry = {
      nameBytes,
      method: METHOD_DEFLATE,
      crc: 0,
      csize: 0,
      usize: 0,
      offset,
      mtime: meta.mtime,
      mode: 0o100644,
    };
    const head = localHeader(e, zip64);
    f.seekSync(offset - this.#base, Deno.SeekMode.Start);
    writeAll(f, head);
    let crc = 0;
    let usize = 0;
    let csize = 0;
    const counted = data.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          usize += chunk.byteLength;
          // Refused at once: nothing past the promised size is compressed or written.
          if (usize > meta.size) throw new Error(`"${key}" grew while it was read`);
          crc = crc32(chunk, crc);
          c.enqueue(chunk);
        },
      }),
    );
    const deflate = new CompressionStream("deflate-raw") as unknown as TransformStream<
      Uint8Array,
      Uint8Array
    >;
    for await (const chunk of counted.pipeThrough(deflate)) {
      // Where the stream left the file's position (nothing else writes meanwhile).
      writeAll(f, chunk);
      csize += chunk.byteLength;
    }
    if (usize !== meta.size) {
      throw new Error(`"${key}" ${usize > meta.size ? "grew" : "shrank"} while it was read`);
    }
    const done = { ...e, crc, csize, usize };
    f.seekSync(offset - this.#base, Deno.SeekMode.Start);
    writeAll(f, localHeader(done, zip64));
    this.#pos = offset + head.length + csize;
    this.#extent.set(offset, this.#pos);
    return done;
  }

  remove(key: string): Promise<void> {
    return this.#change(() => {
      const it = this.#file(key);
      this.#prepare();
      this.#drop(it.key);
    });
  }

  mkdir(key: string): Promise<void> {
    return this.#change(() => {
      const k = checkKey(key);
      if (k === "") return;
      this.#ready();
      this.#touchable(k);
      const it = this.#items.get(k);
      if (it && !it.dir) throw new Deno.errors.AlreadyExists(`"${key}" is a file`);
      if (it || this.#hasBelow(k)) return;
      this.#add(k, true, new Uint8Array(0), Date.now());
    });
  }

  rmdir(key: string): Promise<void> {
    return this.#change(() => {
      const k = checkKey(key);
      this.#ready();
      if (this.#hasBelow(k)) throw new Error(`Folder "${key}" is not empty`);
      if (!this.#items.get(k)?.dir) return;
      this.#prepare();
      this.#drop(k);
    });
  }

  /**
   * Set an entry's time in the directory (the next commit writes it); its local header keeps
   * the old one, which readers that go by the directory never look at.
   */
  setModTime(key: string, mtime: number): Promise<Entry> {
    return this.#change(() => {
      const it = this.#file(key);
      this.#prepare();
      const changed: Item = {
        key: it.key,
        dir: false,
        e: { ...asNew(it), mtime, flags: 0, precision: 1 },
      };
      this.#items.set(it.key, changed);
      return this.#entry(changed);
    });
  }

  /** Append a small stored entry (a folder, or a moved entry's bytes given raw). */
  #add(key: string, dir: boolean, payload: Uint8Array, mtime: number): void {
    this.#prepare();
    const nameBytes = new TextEncoder().encode(dir ? key + "/" : key);
    const e: NewEntry = {
      nameBytes,
      method: METHOD_STORED,
      crc: crc32(payload),
      csize: payload.length,
      usize: payload.length,
      offset: this.#pos,
      mtime,
      mode: dir ? 0o040755 : 0o100644,
    };
    const head = localHeader(e, false);
    this.#writeAt(this.#pos, head);
    this.#writeAt(this.#pos + head.length, payload);
    this.#extent.set(e.offset, e.offset + head.length + payload.length);
    this.#pos += head.length + payload.length;
    this.#drop(key);
    this.#items.set(key, { key, dir, e: { ...e, flags: 0, precision: 1 } });
  }

  /**
   * Rename an entry (or every entry below a folder) without recompressing it: its compressed
   * bytes are copied after the last entry under a header with the new name.
   */
  move(from: string, to: string): Promise<void> {
    return this.#change(() => {
      const a = checkKey(from);
      const b = checkKey(to);
      this.#ready();
      this.#touchable(b);
      if (this.#items.has(b) || this.#hasBelow(b)) {
        throw new Deno.errors.AlreadyExists(`"${to}" already exists`);
      }
      const moving = [...this.#items.values()].filter((it) => isWithin(it.key, a));
      if (moving.length === 0) throw new Deno.errors.NotFound(`No such file or folder "${from}"`);
      for (const it of moving) this.#moveOne(it, b + it.key.slice(a.length));
    });
  }

  #moveOne(it: Item, to: string): void {
    this.#prepare();
    const e = it.e;
    const h = this.#readAt(e.offset, LOCAL_SIZE);
    const hv = new DataView(h.buffer);
    const start = e.offset + LOCAL_SIZE + hv.getUint16(26, true) + hv.getUint16(28, true);
    const zip64 = e.csize >= MAX32 || e.usize >= MAX32;
    const ne: NewEntry = {
      nameBytes: new TextEncoder().encode(it.dir ? to + "/" : to),
      method: e.method,
      crc: e.crc,
      csize: e.csize,
      usize: e.usize,
      offset: this.#pos,
      mtime: e.mtime,
      mode: e.mode || (it.dir ? 0o040755 : 0o100644),
    };
    const head = localHeader(ne, zip64);
    // The bytes are copied in chunks: from before the write position, so never overlapping.
    let copied = 0;
    let at = start;
    const out = this.#pos + head.length;
    while (copied < e.csize) {
      const chunk = this.#readAt(at, Math.min(CHUNK, e.csize - copied));
      if (chunk.length === 0) throw new Error(`"${it.key}" is cut short in the archive`);
      this.#writeAt(out + copied, chunk);
      copied += chunk.length;
      at += chunk.length;
    }
    this.#writeAt(this.#pos, head);
    this.#extent.set(ne.offset, out + e.csize);
    this.#pos = out + e.csize;
    this.#drop(it.key);
    this.#items.set(to, { key: to, dir: it.dir, e: { ...ne, flags: 0, precision: e.precision } });
  }

  /**
   * Make the transaction's changes durable: the packed entries, the new directory and end
   * record appended after the old end (or, for a new archive, the pack renamed over it) and
   * synced; then the holes the new directory left (the old directory, replaced entries) are
   * filled.
   */
  commit(): Promise<void> {
    this.#inTx = false;
    this.#at = -1;
    if (!this.#dirty) return Promise.resolve();
    try {
      this.#commit();
    } catch (err) {
      // Cut short (a full disk): the archive is put back as it was, or finished, now.
      this.#endUpdate();
      try {
        this.#recover();
        this.#loaded = false;
        this.#load();
      } catch { /* the next open does it */ }
      return Promise.reject(err);
    }
    this.#endUpdate();
    return Promise.resolve();
  }

  #commit(): void {
    const live = [...this.#items.values(), ...this.#kept].sort((x, y) => x.e.offset - y.e.offset);
    const records: Uint8Array[] = [];
    for (const it of live) records.push(it.raw ?? centralRecord(asNew(it)));
    const cd = concat(records);
    const base = this.#base;
    const packed = this.#pos - base;
    const cdOffset = this.#pos;
    const end = endRecords(live.length, cdOffset, cd.length);
    const newEnd = cdOffset + cd.length + end.length;
    // Holes in the pack are filled before it is appended; the archive's own (the old directory
    // among them) once the new directory is durable. Never one across the old end: the bytes
    // appended must stay as the journal's CRC says until the journal goes.
    const fillable = ([s, e]: [number, number]) => e - s >= LOCAL_SIZE;
    const old = base > 0
      ? mergeHoles([...this.#dead.filter(([s]) => s < base), [this.#cdOffset, base]])
        .filter(fillable)
      : [];
    const holes = [...old, ...mergeHoles(this.#dead.filter(([s]) => s >= base)).filter(fillable)];
    const pack = packed > 0 || base === 0 ? this.#packFile() : undefined;
    // Up to 32 MiB, the packed entries are read back (the page cache has them) and appended
    // with the directory in one write: readers find no end record for that write only. A new
    // archive is the pack itself: nothing to read back.
    let whole: Uint8Array | undefined;
    if (base > 0 && packed <= COMMIT_WHOLE) {
      // One buffer for all of it: the entries read straight into it, the directory after them.
      whole = new Uint8Array(packed + cd.length + end.length);
      if (pack && readInto(pack, 0, whole.subarray(0, packed)) !== packed) {
        throw new Error("the pack beside the archive is cut short");
      }
      whole.set(cd, packed);
      whole.set(end, packed + cd.length);
    }
    for (const [s, e] of holes) {
      if (s < base) continue;
      if (whole) whole.set(fillHole(e - s), s - base);
      else {
        pack!.seekSync(s - base, Deno.SeekMode.Start);
        writeAll(pack!, fillHole(e - s));
      }
    }
    if (base === 0) {
      // A new archive: the pack is it, renamed over the end record alone (let go first: Windows
      // renames over no open file).
      this.#out?.close();
      this.#out = undefined;
      const f = pack!;
      f.seekSync(packed, Deno.SeekMode.Start);
      writeAll(f, concat([cd, end]));
      f.truncateSync(newEnd);
      f.syncSync();
      Deno.renameSync(this.#packPath, this.path);
      syncDir(nodePath.dirname(this.path));
    } else {
      const crc = whole ? crc32(whole) : crc32(end, crc32(cd, crcOf(pack!, 0, packed)));
      this.#writeJournal(base, newEnd, crc, old);
      const f = this.#out!;
      f.seekSync(base, Deno.SeekMode.Start);
      if (whole) writeAll(f, whole);
      else {
        for (let at = 0; at < packed;) {
          const chunk = pread(pack!, at, Math.min(COMMIT_WHOLE, packed - at));
          if (chunk.length === 0) throw new Error("the pack beside the archive is cut short");
          writeAll(f, chunk);
          at += chunk.length;
        }
        writeAll(f, concat([cd, end]));
      }
      f.syncSync();
      // The new directory is durable: the holes are not in it, and may now be filled.
      for (const [s, e] of old) {
        f.seekSync(s, Deno.SeekMode.Start);
        writeAll(f, fillHole(e - s));
      }
      if (old.length > 0) f.syncSync();
      // Left behind by a power cut, the journal would only have the holes filled again.
      Deno.removeSync(this.#journal);
    }
    // The layout as it now is: each entry's extent runs to the next one or the directory.
    this.#extent.clear();
    for (let i = 0; i < live.length; i++) {
      const next = i + 1 < live.length ? live[i + 1]!.e.offset : cdOffset;
      this.#extent.set(live[i]!.e.offset, next);
    }
    this.#cdOffset = cdOffset;
    this.#loadedAs = versionOf(this.path);
    this.#out?.close();
    this.#out = undefined;
    if (holes.length > 0 && deadShare(live, cdOffset) > COMPACT_AT) {
      // The update is durable already: a compaction that fails (a full disk) leaves the dead
      // space for the next one.
      try {
        this.#compact(live);
      } catch { /* its file beside was removed */ }
    }
  }

  /** The journal of a commit, durable before the archive is touched. */
  #writeJournal(base: number, end: number, crc: number, holes: [number, number][]): void {
    const j = new Uint8Array(JOURNAL_HEAD + 16 * holes.length + 4);
    j.set(new TextEncoder().encode(JOURNAL_MAGIC));
    const v = new DataView(j.buffer);
    v.setBigUint64(8, BigInt(base), true);
    v.setBigUint64(16, BigInt(end), true);
    v.setUint32(24, crc, true);
    v.setUint32(28, holes.length, true);
    for (const [i, [s, e]] of holes.entries()) {
      v.setBigUint64(JOURNAL_HEAD + 16 * i, BigInt(s), true);
      v.setBigUint64(JOURNAL_HEAD + 16 * i + 8, BigInt(e), true);
    }
    const body = j.length - 4;
    v.setUint32(body, crc32(j.subarray(0, body)), true);
    const f = Deno.openSync(this.#journal, { write: true, create: true, truncate: true });
    try {
      writeAll(f, j);
      f.syncSync();
    } finally {
      f.close();
    }
    syncDir(nodePath.dirname(this.path));
  }

  /**
   * Write the archive again beside itself with only its live entries (their bytes copied as
   * they are, nothing recompressed), then rename it over the old one. Until the rename the
   * old archive is there, whole; a leftover from a run killed meanwhile is removed on open.
   */
  #compact(live: Item[]): void {
    const tmp = `${this.path}${COMPACT_TAG}${Deno.pid}`;
    const src = Deno.openSync(this.path, { read: true });
    const out = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      const records: Uint8Array[] = [];
      let pos = 0;
      for (const it of live) {
        const len = entryLength(src, it.e);
        for (let done = 0; done < len;) {
          const chunk = pread(src, it.e.offset + done, Math.min(CHUNK, len - done));
          if (chunk.length === 0) throw new Error(`"${it.key}" is cut short in the archive`);
          writeAll(out, chunk);
          done += chunk.length;
        }
        records.push(recordAt(it, pos));
        pos += len;
      }
      let cdSize = 0;
      for (const r of records) {
        writeAll(out, r);
        cdSize += r.length;
      }
      writeAll(out, endRecords(live.length, pos, cdSize));
      out.syncSync();
    } catch (err) {
      out.close();
      src.close();
      Deno.removeSync(tmp);
      throw err;
    }
    out.close();
    src.close();
    Deno.renameSync(tmp, this.path);
    syncDir(nodePath.dirname(this.path));
    this.#load();
  }

  /** Drop the transaction's changes: the pack goes; a commit that failed midway is undone. */
  rollback(): Promise<void> {
    this.#inTx = false;
    this.#endUpdate();
    try {
      this.#recover();
      this.#loaded = false;
      if (Deno.statSync(this.path).isFile) this.#load();
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.resolve();
  }

  async close(): Promise<void> {
    try {
      if (this.#dirty) await this.rollback();
    } finally {
      this.#dropLock();
    }
  }
}

/** Whether an open file is (still) the one at `path`. */
function sameFile(f: Deno.FsFile, path: string): boolean {
  try {
    const a = f.statSync();
    const b = Deno.statSync(path);
    // Without file ids (no lock file is removed there) the name can only be that file.
    if (a.ino === null || b.ino === null) return true;
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** Dead space above this share of the archive (and above `COMPACT_MIN`) is compacted away. */
const COMPACT_AT = 0.25;
const COMPACT_MIN = 64 * 1024;

/** The archive's size and modification time, as a string to compare. */
function versionOf(path: string): string {
  const st = Deno.statSync(path);
  return `${st.size}:${st.mtime?.getTime()}`;
}

/**
 * The share of the bytes before the directory that no entry uses (0 below 64 KiB), from what
 * the directory says of each entry: no read per entry (10,000 reads cost 50 ms a commit). A
 * local header's extra field is taken to be as long as the directory record's (ferry writes
 * both alike); the compaction itself measures each entry.
 */
function deadShare(live: Item[], cdOffset: number): number {
  let used = 0;
  for (const it of live) {
    const e = it.e;
    if ("nameBytes" in e) {
      const zip64 = e.csize >= MAX32 || e.usize >= MAX32;
      used += LOCAL_SIZE + e.nameBytes.length + TIME_EXTRAS_SIZE + (zip64 ? 20 : 0) + e.csize;
    } else {
      const r = it.raw;
      const v = r ? new DataView(r.buffer, r.byteOffset, r.byteLength) : undefined;
      const names = v
        ? v.getUint16(28, true) + v.getUint16(30, true)
        : new TextEncoder().encode(it.key).length + TIME_EXTRAS_SIZE;
      used += LOCAL_SIZE + names + e.csize + (e.flags & FLAG_DESCRIPTOR ? 16 : 0);
    }
  }
  const dead = cdOffset - used;
  return dead < COMPACT_MIN ? 0 : dead / cdOffset;
}

/**
 * An entry's length in the file: local header, name, extra field, data, and the data
 * descriptor some makers put after the data.
 */
function entryLength(f: Deno.FsFile, e: Item["e"]): number {
  const h = pread(f, e.offset, LOCAL_SIZE);
  const v = new DataView(h.buffer);
  let len = LOCAL_SIZE + v.getUint16(26, true) + v.getUint16(28, true) + e.csize;
  if (v.getUint16(6, true) & FLAG_DESCRIPTOR) {
    const sig = pread(f, e.offset + len, 4);
    const zip64 = e.csize >= MAX32 || e.usize >= MAX32;
    const signed = sig.length === 4 && new DataView(sig.buffer).getUint32(0, true) === 0x08074b50;
    len += (signed ? 4 : 0) + (zip64 ? 20 : 12);
  }
  return len;
}

/** An entry's directory record with its local header at `offset`. */
function recordAt(it: Item, offset: number): Uint8Array {
  const raw = it.raw;
  if (raw) {
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (v.getUint32(42, true) !== MAX32 && offset < MAX32) {
      const copy = raw.slice();
      new DataView(copy.buffer).setUint32(42, offset, true);
      return copy;
    }
  }
  return centralRecord({ ...asNew(it), offset });
}

/** An entry's fields as ferry writes them (for a record written anew). */
function asNew(it: Item): NewEntry {
  const e = it.e;
  if ("nameBytes" in e) return e;
  return {
    nameBytes: new TextEncoder().encode(it.dir ? it.key + "/" : it.key),
    method: e.method,
    crc: e.crc,
    csize: e.csize,
    usize: e.usize,
    offset: e.offset,
    mtime: e.mtime,
    mode: e.mode || (it.dir ? 0o040755 : 0o100644),
  };
}

/**
 * An entry's name as a key. `./x` and `a//b` are `x` and `a/b`: tools write such names, and
 * they point nowhere outside the root; `..`, absolute names and the rest are refused.
 */
function entryKey(name: string): string {
  if (!name.startsWith("/") && (name.includes("//") || /(^|\/)\.(\/|$)/.test(name))) {
    return checkKey(name.split("/").filter((p) => p !== "" && p !== ".").join("/"));
  }
  return checkKey(name);
}

/** A record read from an archive with bytes before it, its offset made true (if it can be). */
function shiftedRecord(e: CentralEntry): Uint8Array | undefined {
  const raw = e.raw;
  if (!raw) return undefined;
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (v.getUint32(42, true) === MAX32 || e.offset >= MAX32) return undefined;
  const copy = raw.slice();
  new DataView(copy.buffer).setUint32(42, e.offset, true);
  return copy;
}

/** The CRC-32 of bytes `[from, to)` of a file. */
function crcOf(f: Deno.FsFile, from: number, to: number): number {
  let crc = 0;
  for (let at = from; at < to;) {
    const chunk = pread(f, at, Math.min(CHUNK * 8, to - at));
    if (chunk.length === 0) return -1;
    crc = crc32(chunk, crc);
    at += chunk.length;
  }
  return crc;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

function mergeHoles(holes: [number, number][]): [number, number][] {
  const sorted = [...holes].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const h of sorted) {
    const last = out[out.length - 1];
    if (last && h[0] <= last[1]) last[1] = Math.max(last[1], h[1]);
    else out.push([h[0], h[1]]);
  }
  return out;
}

/** Fill `buf` from `offset` of a file; returns how many bytes it got (short at the end). */
function readInto(f: Deno.FsFile, offset: number, buf: Uint8Array): number {
  f.seekSync(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < buf.length) {
    const n = f.readSync(buf.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return got;
}

function pread(f: Deno.FsFile, offset: number, length: number): Uint8Array {
  const buf = new Uint8Array(length);
  const got = readInto(f, offset, buf);
  return got === length ? buf : buf.subarray(0, got);
}

function writeAll(f: Deno.FsFile, data: Uint8Array): void {
  for (let p = 0; p < data.length;) p += f.writeSync(data.subarray(p));
}

/** Make a folder's entries (a new or removed name) durable, where the platform allows. */
function syncDir(dir: string): void {
  if (Deno.build.os === "windows") return;
  try {
    const d = Deno.openSync(dir, { read: true });
    try {
      d.syncSync();
    } finally {
      d.close();
    }
  } catch { /* best effort */ }
}
