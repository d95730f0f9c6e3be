/**
 * The one interface every kind of location implements, in rclone's manner: a small core
 * (list, stat, read, write, remove, mkdir, rmdir) plus declared capabilities. The engine asks
 * for an optional capability and always has a fallback.
 *
 * @module
 */

/** One file or folder in a listing. */
export interface Entry {
  /** POSIX relative key, always NFC (the engine matches keys without normalising again). */
  key: string;
  /** A file, or a folder (listed on its own only where `caps.dirs`). */
  kind: "file" | "dir";
  /** Bytes; 0 for folders. */
  size: number;
  /** Modification time in whole milliseconds since the epoch. */
  mtime: number;
  /**
   * Nanoseconds within that millisecond, where the listing knows them (GNU `find`): written
   * into S3 metadata so that tools comparing to the nanosecond (rclone) agree. Never compared.
   */
  mtimeNs?: number;
  /** Inode number where the backend has them (local). */
  ino?: number;
  /** Device number where the backend has them (local). */
  dev?: number;
  /** Permission bits where the backend has them (local, not Windows). */
  mode?: number;
  /** SHA-256 in hex when the backend knows it without reading the content. */
  sha256?: string;
  /**
   * An opaque version stamp, compared for equality only, that changes whenever the content
   * may have (S3: the entity tag; memory: a write counter). The executor re-checks it before
   * it overwrites or deletes; `list` and `stat` give the same stamp for the same version.
   */
  stamp?: string;
  /**
   * `"upload"`: the store kept no modification time (an object written by a tool that stores
   * none, such as `aws s3 sync`), so `mtime` is when it was uploaded: at or after the real one.
   */
  mtimeKind?: "upload";
  /** The content is in an archive tier and cannot be read until it is restored. */
  archived?: boolean;
  /**
   * This entry's time is coarser than the backend's `timePrecision` (ms): an archive entry
   * made elsewhere with only a DOS time (2 s) or an extended timestamp (1 s).
   */
  precision?: number;
  /**
   * Listed with `lazyMeta`: the stored modification time was not asked for yet (`mtime` is the
   * upload time); {@linkcode Backend.fillMeta} asks for it where the engine needs it.
   */
  metaPending?: boolean;
}

/** What the state remembers of a file, so a store need not be asked for each mtime. */
export interface KnownFile {
  /** Bytes, as last seen. */
  size: number;
  /** Modification time ferry last saw or wrote, in ms since the epoch. */
  mtime: number;
  /** The entry's stamp when `mtime` was recorded: the record applies only while it matches. */
  stamp: string | null;
}

/** A path the listing could not read: counted as failed; nothing below it may be deleted. */
export interface ListProblem {
  /** The key of the file or folder that could not be read (`""`: the root). */
  key: string;
  /** Why, as the store or the OS said it (passwords redacted). */
  message: string;
  /** What could not be done, as a failure names it (`list` when not given; `read`: listed, but its content cannot be read). */
  op?: string;
}

/** What `Backend.list` returns. */
export interface Listing {
  /** Every file and folder found, in no particular order. */
  entries: Entry[];
  /** Paths that could not be read; empty when the whole tree was listed. */
  problems: ListProblem[];
  /** Symbolic links and other special files passed over (documented: never followed). */
  skipped: { key: string; reason: string }[];
}

/** Options for a listing. */
export interface ListOptions {
  /** gitignore-style patterns; matching folders are not descended into. */
  exclude?: readonly string[];
  /** Files as the state last saw them (for backends with `slowModTime`). */
  known?: ReadonlyMap<string, KnownFile>;
  /**
   * Backends with `modTime: "slow"`: do not ask for the modification times the state does not
   * know; mark those entries `metaPending` and let the engine ask for the ones it needs.
   */
  lazyMeta?: boolean;
  /**
   * List only these subtrees (keys of folders or files; every entry at or below one of them,
   * and the folders that lead to them). Absent: the whole tree.
   */
  under?: readonly string[];
}

/**
 * How a backend keeps modification times: `stored` (the listing shows the time ferry wrote),
 * `slow` (stored, but each costs a request: the listing takes the state's record as `known`),
 * or `remembered` (the backend cannot store one: ferry remembers the time it wrote, keyed by
 * the entry's stamp, and passes it back as `known`).
 */
export type ModTimeModel = "stored" | "slow" | "remembered";

/**
 * What a backend declares about itself; valid once {@linkcode Backend.open} has returned (but
 * `local`, which is fixed when the backend is made).
 */
export interface Capabilities {
  /**
   * Each key is a file or folder of the OS, at {@linkcode Backend.localPath} (rclone's
   * `IsLocal`). Fixed when the backend is made, so valid before `open` too: a job is named and
   * watched before its first pass opens it. Code outside `lib/backends/` asks this (or
   * {@linkcode osPathOf}), never whether `localPath` is there.
   */
  local: boolean;
  /** The coarsest difference between two times this backend can tell apart, in ms. */
  timePrecision: number;
  /** Names differing only by case are the same file. */
  caseInsensitive: boolean;
  /** Entries carry `ino`/`dev` that survive a rename. */
  inodes: boolean;
  /** How modification times are kept (see {@linkcode ModTimeModel}). */
  modTime: ModTimeModel;
  /** Folders exist on their own (false for object stores, where they are only key prefixes). */
  dirs: boolean;
  /** Calls worth having in flight at once (a pool of connections, or 1 for a single writer). */
  concurrency: number;
  /**
   * Writes are durable only after {@linkcode Backend.commit} (an archive's directory): the
   * engine begins before it writes and commits before the state records what it wrote.
   */
  transactional: boolean;
  /** A rename resets the modification time (some FUSE FAT drivers): set it again after. */
  retimeAfterRename?: boolean;
  /**
   * The fast paths this backend offers, one flag each (rclone's optional `Features`): optional
   * methods that do what the core methods do, only faster. The engine takes one only where its
   * flag is on (through {@linkcode fastPath}) and always has the general path to fall back on;
   * {@linkcode disableFastPaths} turns flags off (rclone's `Features.Disable`), so that tests
   * can send local folders through the general path. Absent: none. A flag is on only where its
   * method is there.
   */
  fast?: {
    /** {@linkcode Backend.copyMany}: many files copied at once from a source (copy Workers). */
    copyMany?: boolean;
    /** {@linkcode Backend.prepareCopyFrom}: a first copy gets ready while the source is listed. */
    prepareCopyFrom?: boolean;
    /** {@linkcode Backend.copyInFromPath}: a file copied in from an OS path, not a stream. */
    copyInFromPath?: boolean;
    /** {@linkcode Backend.isEmpty}: whether the root holds nothing, without a listing. */
    isEmpty?: boolean;
    /** {@linkcode Backend.listWith}: this location and a peer listed in one go. */
    listWith?: boolean;
    /** {@linkcode Backend.birthTime}: when a file came into being (an inode's proof). */
    birthTime?: boolean;
    /** {@linkcode Backend.storedHash}: a SHA-256 the backend stored, without reading content. */
    storedHash?: boolean;
  };
}

/** The name of one fast path (see {@linkcode Capabilities.fast}). */
export type FastPath = keyof NonNullable<Capabilities["fast"]>;

/** Every fast path, by name. */
export const FAST_PATHS: readonly FastPath[] = [
  "copyMany",
  "prepareCopyFrom",
  "copyInFromPath",
  "isEmpty",
  "listWith",
  "birthTime",
  "storedHash",
];

/**
 * A backend's fast path, where its flag in {@linkcode Capabilities.fast} is on: the method,
 * bound to the backend. The engine reaches fast paths only through this (never by asking
 * whether a method is there), so a flag turned off sends it down the general path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryBackend } from "./memory.ts";
 * assert.equal(fastPath(new MemoryBackend(), "copyMany"), undefined);
 * ```
 *
 * @param b The backend.
 * @param name Which fast path.
 * @returns The bound method, or undefined when the backend does not offer it (or it is off).
 * @throws {TypeError} When the flag is on but the backend has no such method.
 */
export function fastPath<K extends FastPath>(b: Backend, name: K): Backend[K] {
  if (b.caps.fast?.[name] !== true) return undefined;
  const method = b[name] as ((...args: never[]) => unknown) | undefined;
  if (!method) {
    throw new TypeError(`Location "${b.display}" declares the fast path "${name}" but lacks it`);
  }
  return method.bind(b) as Backend[K];
}

/**
 * Turn fast paths of a backend off (rclone's `Features.Disable`): the engine then does that
 * work through the core methods, as for a backend that never had them. The methods stay; only
 * the flags change.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalBackend } from "./local.ts";
 * const b = disableFastPaths(new LocalBackend("."));
 * assert.equal(fastPath(b, "copyMany"), undefined);
 * assert.equal(b.caps.local, true);
 * ```
 *
 * @param b The backend (changed in place).
 * @param names The fast paths to turn off (default: all of them).
 * @returns The same backend.
 */
export function disableFastPaths<B extends Backend>(
  b: B,
  names: readonly FastPath[] = FAST_PATHS,
): B {
  const fast = { ...b.caps.fast };
  for (const name of names) fast[name] = false;
  b.caps.fast = fast;
  return b;
}

/** Metadata handed to `write`. */
export interface WriteMeta {
  /** The modification time to give the file, in ms since the epoch. */
  mtime: number;
  /** Nanoseconds within the millisecond of `mtime`, when known. */
  mtimeNs?: number;
  /** Bytes the content will have: a stream of another length fails the write. */
  size: number;
  /** The content's SHA-256 when already known (stores that keep it save a later read). */
  sha256?: string;
}

/** One file of a bulk copy (see {@linkcode Backend.copyMany}); copy operations are such. */
export interface BulkFile {
  /** Key of the file to read in the source location. */
  srcKey: string;
  /** Key to write in this location. */
  key: string;
  /** Bytes, as the source listed them. */
  size: number;
  /** Modification time to give the copy, in ms since the epoch. */
  mtime: number;
  /** The target as the plan saw it (an update): a target that differs is left alone. */
  expect?: { size: number; mtime: number };
  /** Permission bits of the source, as listed. */
  mode?: number;
}

/** What became of one file of a bulk copy; `id` is its index in the files given. */
export type BulkResult =
  & { id: number }
  & (
    | { ok: true; size: number; mtime: number }
    /** `changed`: the target was not as expected (skipped); `stopped`: interrupted. */
    | { ok: false; changed: boolean; stopped?: boolean; error: string }
  );

/** A bulk copy under way. */
export interface BulkCopy {
  /** Bytes of files under way (for progress). */
  inFlight(): number;
  /** Settles when every file has been reported. */
  done: Promise<void>;
}

/** Where open multipart uploads are written down, so that a killed run's are aborted later. */
export interface UploadJournal {
  /** Record upload `id` of `key` in location `loc` as started. */
  add(loc: string, key: string, id: string): void;
  /** Forget upload `id` of location `loc` (completed or aborted). */
  remove(loc: string, id: string): void;
  /** The uploads of location `loc` still recorded as open. */
  list(loc: string): { key: string; id: string }[];
}

/** A kind of location. Keys are always checked with `checkKey` before use. */
export interface Backend {
  /** Display name with any password masked. */
  readonly display: string;
  /**
   * Identity of the location in the state database (never holds a password); final once
   * {@linkcode Backend.open} has returned.
   */
  readonly id: string;
  /** Ids the location was known by before (the state kept under them is carried over). */
  readonly formerIds?: readonly string[];
  /** What this backend can do; valid once {@linkcode Backend.open} has returned. */
  readonly caps: Capabilities;

  /**
   * Connect (or probe) and say whether the root exists; only then are `caps` valid. A local
   * root opened for writing learns its time precision and case sensitivity by a probe file in
   * the root itself. Opened again after `createRoot`, it probes the new root.
   *
   * @param mode `"write"` when this run may write here (a probe may write), else `"read"`.
   */
  open(mode?: "read" | "write"): Promise<{ exists: boolean }>;
  /** Whether the root exists (a missing root is never treated as empty). */
  rootExists(): Promise<boolean>;
  /** Create the root (and its parents) when missing. */
  createRoot(): Promise<void>;
  /** The whole tree below the root, ferry's own names left out. */
  list(options?: ListOptions): Promise<Listing>;
  /** One entry, or undefined when nothing is there. */
  stat(key: string): Promise<Entry | undefined>;
  /** The content of a file as a stream. */
  read(key: string): Promise<ReadableStream<Uint8Array>>;
  /** Write a whole file atomically: it appears at its name only when complete. */
  write(key: string, data: ReadableStream<Uint8Array>, meta: WriteMeta): Promise<Entry>;
  /** Remove a file. */
  remove(key: string): Promise<void>;
  /** Create a folder (and its parents). */
  mkdir(key: string): Promise<void>;
  /** Remove an empty folder. */
  rmdir(key: string): Promise<void>;
  /** Release connections and handles. */
  close(): Promise<void>;
  /**
   * Optional: the pass is over; let go of what is held only for it (a ZIP archive's lock),
   * so that another run can use the location until the next pass opens it again.
   */
  endPass?(): void;

  /**
   * Optional: write open uploads to `journal` from now on, and clean up after killed runs
   * (abort the uploads they left open).
   */
  recoverUploads?(journal: UploadJournal): Promise<number>;
  /**
   * Optional (with `lazyMeta` listings): fetch the stored modification time (and whatever
   * else the listing lacks) of these entries, in place.
   *
   * @returns The entries that could not be asked about.
   */
  fillMeta?(entries: Entry[]): Promise<ListProblem[]>;
  /** Optional (transactional backends): start a batch of writes. */
  begin?(): Promise<void>;
  /** Optional (transactional backends): make the writes since `begin` durable. */
  commit?(): Promise<void>;
  /** Optional (transactional backends): drop the writes since `begin`. */
  rollback?(): Promise<void>;
  /**
   * Optional: copy a file within this location, no content through ferry (S3: CopyObject),
   * keeping its modification time. Without it the engine reads and writes the content.
   */
  copy?(from: string, to: string): Promise<Entry>;
  /**
   * Optional: set a file's modification time without writing its content. Without it the
   * engine writes the whole file again.
   */
  setModTime?(key: string, mtime: number): Promise<Entry>;
  /** Optional: rename a file or folder in place, no content transferred. */
  move?(from: string, to: string): Promise<void>;
  /**
   * Optional: copy a file of `size` bytes to a key nothing holds yet, as cheaply as the store
   * allows, nothing checked or returned (S3: one CopyObject): how the trash keeps a version
   * where nothing links. Without it the trash takes `copy`, or `move`.
   */
  keep?(from: string, to: string, size: number): Promise<void>;
  /**
   * Optional: give a file a second name (local folders: a hard link), no content copied. The
   * version at `from` then outlives an atomic write that renames a new one over it: the trash
   * keeps an overwritten file this way with no moment where neither name holds it.
   */
  link?(from: string, to: string): Promise<void>;
  /**
   * Optional: every file below `folder`, one of ferry's own folders (`.ferry/trash`) that
   * `list` leaves out, keys from the location's root; none when the folder is missing.
   *
   * @param folder The folder's key.
   * @param top Only what is directly in it, files and folders, sizes and times not needed
   *   (a backend may give more: the caller takes each key's first segment).
   */
  listOwn?(folder: string, top?: boolean): Promise<Entry[]>;
  /**
   * Optional: whether the root holds nothing (ferry's own folder aside), cheaply; a first copy
   * into an empty folder starts its copy Workers early.
   */
  isEmpty?(): boolean;
  /**
   * Optional: copy many files from `src` faster than one at a time (two local folders: copy
   * Workers). Undefined when it cannot or it is not worth it for this source and these files;
   * the engine then copies them one by one.
   */
  copyMany?(
    src: Backend,
    files: BulkFile[],
    report: (r: BulkResult) => void,
    signal: AbortSignal,
  ): BulkCopy | undefined;
  /**
   * Optional: the engine is about to copy a great deal from `src` into this (empty) location:
   * get ready while it lists (start copy Workers).
   *
   * @returns Releases what was made ready and not used.
   */
  prepareCopyFrom?(src: Backend): () => void;
  /** Optional (and only with `caps.local`): the OS path of a key. */
  localPath?(key: string): string;
  /** Optional: copy a local file into this backend atomically, keeping `meta.mtime`. */
  copyInFromPath?(path: string, key: string, meta: WriteMeta): Promise<Entry>;
  /**
   * Optional: when the file at `key` came into being (ms since the epoch), where the file
   * system records it; proves (or disproves) that an inode still names the same file.
   */
  birthTime?(key: string): number | undefined;
  /** Optional: a file's SHA-256 if the backend stored it, without reading the content. */
  storedHash?(key: string): Promise<string | undefined>;
  /**
   * Optional: list this location and `peer` in one go, faster than two `list` calls (two
   * local trees share two threads). Undefined when it cannot for this peer.
   */
  listWith?(peer: Backend, options: ListOptions): Promise<[Listing, Listing] | undefined>;
  /**
   * Optional: the changes below the root as they happen (rclone's `ChangeNotify`), each batch
   * the keys that changed (as the location spells them, ferry's own names left out) or
   * `"rescan"` when the location lost track. A location without it is polled.
   *
   * @param signal Ends the watch (and the iteration).
   * @returns The batches, until `signal` ends them; the iteration throws when the watch dies.
   * @throws When the location cannot be watched now (a missing root, the OS's watch limit):
   *   the caller polls it instead.
   */
  watch?(signal: AbortSignal): AsyncIterable<readonly string[] | "rescan">;
}

/**
 * The OS path of a key in a local location (`caps.local`), else undefined. Valid before
 * `open` (as `caps.local` is): a job names and watches its folders before the first pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryBackend } from "./memory.ts";
 * assert.equal(osPathOf(new MemoryBackend(), ""), undefined);
 * ```
 *
 * @param b The location (opened or not).
 * @param key A key; `""` for the root.
 * @returns The path, or undefined when the location is not local.
 * @throws {TypeError} When the location declares `caps.local` but gives no `localPath`.
 */
export function osPathOf(b: Backend, key: string): string | undefined {
  if (!b.caps.local) return undefined;
  if (!b.localPath) throw new TypeError(`Location "${b.display}" is local but has no localPath`);
  return b.localPath(key);
}
