/**
 * What both local walkers (the built-in one in `walk.ts`, GNU `find` in `find_walk.ts`) share:
 * the columns a walk fills, and the one rule for which names are listed.
 *
 * @module
 */
import { FERRY_DIR, TEMP_PREFIX } from "../../paths.ts";
import type { ExcludeFn } from "../../scan/filter.ts";

/** A walk's result in columns, cheap to post between threads. */
export interface RawTree {
  /** Native relative paths, `/`-separated. */
  paths: string[];
  /** 1 for folders, 0 for files. */
  dirs: Uint8Array;
  sizes: Float64Array;
  mtimes: Float64Array;
  inos: Float64Array;
  devs: Float64Array;
  /** Permission bits (0 where the platform has none). */
  modes: Uint32Array;
  /** Nanoseconds within the millisecond of `mtimes` (0 where the walker cannot tell). */
  nanos: Uint32Array;
  problems: { key: string; message: string }[];
  skipped: { key: string; reason: string }[];
  /** Leftover temporary files of an interrupted run, with their mtimes. */
  temps: { key: string; mtime: number }[];
}

/** Growing columns of a walk (typed arrays that double), turned into a {@linkcode RawTree}. */
export class Collector {
  paths: string[] = [];
  problems: RawTree["problems"] = [];
  skipped: RawTree["skipped"] = [];
  temps: RawTree["temps"] = [];
  #n = 0;
  #dirs = new Uint8Array(256);
  #sizes = new Float64Array(256);
  #mtimes = new Float64Array(256);
  #inos = new Float64Array(256);
  #devs = new Float64Array(256);
  #modes = new Uint32Array(256);
  #nanos = new Uint32Array(256);

  /** Record one file or folder (a folder's size is recorded as 0). */
  add(
    path: string,
    isDir: boolean,
    size: number,
    mtime: number,
    ino: number,
    dev: number,
    mode: number,
    nanos = 0,
  ): void {
    if (this.#n === this.#sizes.length) this.#grow();
    const n = this.#n++;
    this.paths.push(path);
    this.#dirs[n] = isDir ? 1 : 0;
    this.#sizes[n] = isDir ? 0 : size;
    this.#mtimes[n] = mtime;
    this.#inos[n] = ino;
    this.#devs[n] = dev;
    this.#modes[n] = mode;
    this.#nanos[n] = nanos;
  }

  #grow(): void {
    const twice = <T extends Uint8Array | Float64Array | Uint32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.#dirs = twice(this.#dirs);
    this.#sizes = twice(this.#sizes);
    this.#mtimes = twice(this.#mtimes);
    this.#inos = twice(this.#inos);
    this.#devs = twice(this.#devs);
    this.#modes = twice(this.#modes);
    this.#nanos = twice(this.#nanos);
  }

  done(): RawTree {
    const n = this.#n;
    return {
      paths: this.paths,
      dirs: this.#dirs.slice(0, n),
      sizes: this.#sizes.slice(0, n),
      mtimes: this.#mtimes.slice(0, n),
      inos: this.#inos.slice(0, n),
      devs: this.#devs.slice(0, n),
      modes: this.#modes.slice(0, n),
      nanos: this.#nanos.slice(0, n),
      problems: this.problems,
      skipped: this.skipped,
      temps: this.temps,
    };
  }
}

/** What a walk finds at a name, without following a symbolic link. */
export type Found = "file" | "dir" | "link" | "other";

/**
 * The walkers' one rule for a name met in a folder, applied before its fields are read:
 * temporary files of an interrupted run are set apart, a `.ferry` folder is left out, symbolic links and special files are
 * reported as skipped (into `out.skipped`), excluded names are left out silently.
 *
 * @param rel The relative path.
 * @param found What is there.
 * @param skip The exclusion rules, if any.
 * @param out Where skipped names are reported.
 * @returns "temp" (the caller records it with its mtime), "keep" (list it; a folder is walked
 * into) or "drop" (not listed; a folder is not walked into).
 */
export function triage(
  rel: string,
  found: Found,
  skip: ExcludeFn | undefined,
  out: Collector,
): "temp" | "keep" | "drop" {
  const base = rel.lastIndexOf("/") + 1;
  if (rel.startsWith(TEMP_PREFIX, base)) return "temp";
  // ferry's own folder, at any depth (another job's state and logs): never listed.
  if (rel.length - base === FERRY_DIR.length && rel.endsWith(FERRY_DIR)) return "drop";
  if (found === "link") {
    out.skipped.push({ key: rel, reason: "symbolic link (not followed)" });
    return "drop";
  }
  if (found === "other") {
    out.skipped.push({ key: rel, reason: "not a regular file or folder" });
    return "drop";
  }
  return skip?.(rel.normalize("NFC"), found === "dir") ? "drop" : "keep";
}
