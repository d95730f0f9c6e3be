/**
 * An in-memory backend: the fast default for engine tests, with capabilities a test can set
 * (time precision, case-insensitivity) to stand in for other kinds of location.
 *
 * @module
 */
import type { Backend, Capabilities, Entry, Listing, ListOptions, WriteMeta } from "./backend.ts";
import {
  checkKey,
  inScope,
  isOwnKey,
  isWithin,
  normaliseScope,
  parentKey,
  scopeParents,
} from "../paths.ts";
import { loadFilter } from "../scan/filter.ts";

interface MemFile {
  data: Uint8Array;
  mtime: number;
  /** A write counter: the entry's version stamp. */
  stamp: string;
}

/** What a memory location holds (what survives a reopen, for a transactional one). */
interface Contents {
  files: Map<string, MemFile>;
  dirs: Map<string, number>;
  realKey: Map<string, string>;
}

function copyOf(c: Contents): Contents {
  return { files: new Map(c.files), dirs: new Map(c.dirs), realKey: new Map(c.realKey) };
}

let writes = 0;

/** Options for {@linkcode MemoryBackend}. */
export interface MemoryOptions {
  /** Overrides of the default capabilities. */
  caps?: Partial<Capabilities>;
  /** Display name; also the state id. */
  name?: string;
  /** Start with no root at all (to test missing-root handling). */
  missingRoot?: boolean;
}

/**
 * Files and folders kept in maps.
 *
 * @example Write and list
 * ```ts
 * import assert from "node:assert/strict";
 * const mem = new MemoryBackend();
 * await mem.write("a/b.txt", ReadableStream.from([new Uint8Array([1, 2])]), { mtime: 1000, size: 2 });
 * assert.deepEqual((await mem.list()).entries.map((e) => e.key), ["a", "a/b.txt"]);
 * ```
 */
export class MemoryBackend implements Backend {
  readonly display: string;
  readonly id: string;
  /** Millisecond times, case-sensitive, folders of their own unless `options` say otherwise. */
  readonly caps: Capabilities;
  /** Number of content bytes written, for tests that prove nothing was transferred. */
  bytesWritten = 0;
  #files = new Map<string, MemFile>();
  #dirs = new Map<string, number>();
  #realKey = new Map<string, string>();
  #root: boolean;
  #fold: boolean;
  /** Transactional: what the last commit made durable (what a reopen finds). */
  #durable: Contents | undefined;
  #options: MemoryOptions;

  /**
   * An empty tree held in this process, gone when it is.
   *
   * @param options Capabilities, name and whether the root starts missing.
   */
  constructor(options: MemoryOptions = {}) {
    this.caps = {
      local: false,
      timePrecision: 1,
      caseInsensitive: false,
      inodes: false,
      modTime: "stored",
      dirs: true,
      concurrency: 16,
      transactional: false,
      ...options.caps,
    };
    this.#options = options;
    if (this.caps.transactional) this.#durable = copyOf(this.#contents());
    this.display = options.name ?? "memory:";
    this.id = this.display;
    this.#root = !options.missingRoot;
    this.#fold = this.caps.caseInsensitive;
  }

  #k(key: string): string {
    const k = checkKey(key);
    return this.#fold ? k.toLowerCase() : k;
  }

  #contents(): Contents {
    return { files: this.#files, dirs: this.#dirs, realKey: this.#realKey };
  }

  open(): Promise<{ exists: boolean }> {
    return Promise.resolve({ exists: this.#root });
  }

  /**
   * A transactional location as a new process would find it: what the last commit made
   * durable, nothing written after it.
   *
   * @returns A new backend over the committed contents.
   */
  reopened(): MemoryBackend {
    const again = new MemoryBackend({ ...this.#options, missingRoot: !this.#root });
    const c = copyOf(this.#durable ?? this.#contents());
    again.#files = c.files;
    again.#dirs = c.dirs;
    again.#realKey = c.realKey;
    again.#durable = copyOf(c);
    return again;
  }

  begin(): Promise<void> {
    return Promise.resolve();
  }

  commit(): Promise<void> {
    if (this.caps.transactional) this.#durable = copyOf(this.#contents());
    return Promise.resolve();
  }

  rollback(): Promise<void> {
    if (this.#durable) {
      const c = copyOf(this.#durable);
      this.#files = c.files;
      this.#dirs = c.dirs;
      this.#realKey = c.realKey;
    }
    return Promise.resolve();
  }

  rootExists(): Promise<boolean> {
    return Promise.resolve(this.#root);
  }

  createRoot(): Promise<void> {
    this.#root = true;
    return Promise.resolve();
  }

  async list(options: ListOptions = {}): Promise<Listing> {
    if (!this.#root) throw new Deno.errors.NotFound("memory root is missing");
    const filter = (await loadFilter(options.exclude ?? [])) ?? (() => false);
    const scope = normaliseScope(options.under);
    const leads = new Set(scope ? scopeParents(scope) : []);
    const skip = (key: string, dir: boolean) =>
      filter(key, dir) || isOwnKey(key) || !(inScope(key, scope) || (dir && leads.has(key)));
    const entries: Entry[] = [];
    for (const [k, mtime] of this.#dirs) {
      const key = this.#realKey.get(k) ?? k;
      if (!skip(key, true)) entries.push({ key, kind: "dir", size: 0, mtime });
    }
    for (const [k, f] of this.#files) {
      const key = this.#realKey.get(k) ?? k;
      if (!skip(key, false)) entries.push(this.#entry(key, f, options.known));
    }
    entries.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    return { entries, problems: [], skipped: [] };
  }

  stat(key: string): Promise<Entry | undefined> {
    const k = this.#k(key);
    const real = this.#realKey.get(k) ?? k;
    const f = this.#files.get(k);
    if (f) return Promise.resolve(this.#entry(real, f));
    const d = this.#dirs.get(k);
    if (d !== undefined) return Promise.resolve({ key: real, kind: "dir", size: 0, mtime: d });
    return Promise.resolve(undefined);
  }

  /**
   * A file's entry. Where times are `remembered`, the stored time is the write's (a server
   * that keeps none): the time ferry wrote comes back through `known` while the stamp is the
   * one it wrote; otherwise it is marked an upload time.
   */
  #entry(key: string, f: MemFile, known?: ListOptions["known"]): Entry {
    const e: Entry = { key, kind: "file", size: f.data.byteLength, mtime: f.mtime, stamp: f.stamp };
    if (this.caps.modTime !== "remembered") return e;
    const k = known?.get(key);
    if (k && k.stamp === f.stamp && k.size === e.size) e.mtime = k.mtime;
    else e.mtimeKind = "upload";
    return e;
  }

  read(key: string): Promise<ReadableStream<Uint8Array>> {
    const f = this.#files.get(this.#k(key));
    if (!f) return Promise.reject(new Deno.errors.NotFound(`No such file "${key}"`));
    const data = f.data;
    return Promise.resolve(ReadableStream.from([data.slice()]));
  }

  async write(key: string, data: ReadableStream<Uint8Array>, meta: WriteMeta): Promise<Entry> {
    const k = this.#k(key);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const c of data) {
      size += c.byteLength;
      // As every store's write: only the bytes promised, all of them, land at the name.
      if (size > meta.size) {
        throw new Error(`"${key}": the source sent more than the ${meta.size} bytes it promised`);
      }
      chunks.push(c);
    }
    if (size !== meta.size) {
      throw new Error(`"${key}": the source sent ${size} of the ${meta.size} bytes it promised`);
    }
    const buf = new Uint8Array(size);
    let off = 0;
    for (const c of chunks) {
      buf.set(c, off);
      off += c.byteLength;
    }
    if (this.#dirs.has(k)) throw new Deno.errors.IsADirectory(`"${key}" is a folder`);
    await this.mkdir(parentKey(checkKey(key)));
    const mtime = this.caps.modTime === "remembered" ? Date.now() : meta.mtime;
    const f = { data: buf, mtime, stamp: `w${++writes}` };
    this.#files.set(k, f);
    this.#realKey.set(k, checkKey(key));
    this.bytesWritten += size;
    // What ferry wrote: with remembered times, the time it will remember for this stamp.
    return { key: checkKey(key), kind: "file", size, mtime: meta.mtime, stamp: f.stamp };
  }

  remove(key: string): Promise<void> {
    const k = this.#k(key);
    if (!this.#files.delete(k)) {
      return Promise.reject(new Deno.errors.NotFound(`No such file "${key}"`));
    }
    this.#realKey.delete(k);
    return Promise.resolve();
  }

  mkdir(key: string): Promise<void> {
    if (key === "") return Promise.resolve();
    const k = this.#k(key);
    if (this.#files.has(k)) {
      return Promise.reject(new Deno.errors.AlreadyExists(`"${key}" is a file`));
    }
    if (!this.#dirs.has(k)) {
      this.#dirs.set(k, Date.now());
      this.#realKey.set(k, checkKey(key));
    }
    return this.mkdir(parentKey(checkKey(key)));
  }

  rmdir(key: string): Promise<void> {
    const k = this.#k(key);
    for (const other of [...this.#files.keys(), ...this.#dirs.keys()]) {
      if (other !== k && isWithin(other, k)) {
        return Promise.reject(new Error(`Folder "${key}" is not empty`));
      }
    }
    this.#dirs.delete(k);
    this.#realKey.delete(k);
    return Promise.resolve();
  }

  async copy(from: string, to: string): Promise<Entry> {
    const f = this.#files.get(this.#k(from));
    if (!f) throw new Deno.errors.NotFound(`No such file "${from}"`);
    const t = this.#k(to);
    if (this.#dirs.has(t)) throw new Deno.errors.IsADirectory(`"${to}" is a folder`);
    await this.mkdir(parentKey(checkKey(to)));
    const copied = { data: f.data, mtime: f.mtime, stamp: `w${++writes}` };
    this.#files.set(t, copied);
    this.#realKey.set(t, checkKey(to));
    return this.#entry(checkKey(to), copied);
  }

  setModTime(key: string, mtime: number): Promise<Entry> {
    const k = this.#k(key);
    const f = this.#files.get(k);
    if (!f) return Promise.reject(new Deno.errors.NotFound(`No such file "${key}"`));
    // Where times are remembered the backend keeps none to set: the engine never asks.
    const changed = { ...f, mtime, stamp: `w${++writes}` };
    this.#files.set(k, changed);
    return Promise.resolve(this.#entry(this.#realKey.get(k) ?? k, changed));
  }

  listOwn(folder: string): Promise<Entry[]> {
    const out: Entry[] = [];
    for (const [k, f] of this.#files) {
      const key = this.#realKey.get(k) ?? k;
      if (isWithin(key, folder) && key !== folder) out.push(this.#entry(key, f));
    }
    return Promise.resolve(out);
  }

  async move(from: string, to: string): Promise<void> {
    const f = this.#k(from);
    const t = this.#k(to);
    if (t !== f && (this.#files.has(t) || this.#dirs.has(t))) {
      throw new Deno.errors.AlreadyExists(`"${to}" already exists`);
    }
    const file = this.#files.get(f);
    await this.mkdir(parentKey(checkKey(to)));
    if (file) {
      this.#files.delete(f);
      this.#realKey.delete(f);
      this.#files.set(t, file);
      this.#realKey.set(t, checkKey(to));
      return;
    }
    if (!this.#dirs.has(f)) throw new Deno.errors.NotFound(`No such file "${from}"`);
    for (const map of [this.#files, this.#dirs] as Map<string, unknown>[]) {
      for (const [k, v] of [...map]) {
        if (!isWithin(k, f)) continue;
        const nk = t + k.slice(f.length);
        const real = this.#realKey.get(k) ?? k;
        map.delete(k);
        this.#realKey.delete(k);
        map.set(nk, v);
        this.#realKey.set(nk, checkKey(to) + real.slice(from.length));
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
