/**
 * The local tree walker. It uses Deno's synchronous calls on purpose: on these machines each
 * syscall is expensive and the async ones cost 2–10× more for the same walk. Run it in a
 * Worker (`walk_worker.ts`) to overlap two walks.
 *
 * @module
 */
import { FERRY_DIR, isTempName } from "../paths.ts";
import type { ExcludeFn } from "./filter.ts";

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
  problems: { key: string; message: string }[];
  skipped: { key: string; reason: string }[];
  /** Leftover temporary files of an interrupted run, with their mtimes. */
  temps: { key: string; mtime: number }[];
}

/**
 * Walk a folder tree without following symbolic links.
 *
 * @param root Absolute OS path of the root folder.
 * @param skip Exclusion matcher; excluded folders are not descended into.
 * @returns Every file and folder below `root`, ferry's own folder and temp files left out.
 * @throws {Deno.errors.NotFound} When the root does not exist.
 */
export function walkTree(root: string, skip?: ExcludeFn): RawTree {
  const paths: string[] = [];
  const dirs: number[] = [];
  const sizes: number[] = [];
  const mtimes: number[] = [];
  const inos: number[] = [];
  const devs: number[] = [];
  const modes: number[] = [];
  const problems: RawTree["problems"] = [];
  const skipped: RawTree["skipped"] = [];
  const temps: RawTree["temps"] = [];
  const sep = Deno.build.os === "windows" ? "\\" : "/";
  const rootInfo = Deno.statSync(root);
  if (!rootInfo.isDirectory) throw new Deno.errors.NotADirectory(`"${root}" is not a folder`);
  const stack: string[] = [""];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const dirPath = rel === "" ? root : root + sep + (sep === "/" ? rel : rel.replaceAll("/", sep));
    let names: Deno.DirEntry[];
    try {
      // Sorted, so that two walks of alike trees list entries in the same order and the
      // planner can pair them without a map (most file systems return hash or creation order).
      names = [...Deno.readDirSync(dirPath)].sort(byName);
    } catch (err) {
      if (rel === "") throw err;
      if (err instanceof Deno.errors.NotFound) continue; // vanished mid-walk: simply gone
      problems.push({ key: rel, message: err instanceof Error ? err.message : String(err) });
      continue;
    }
    for (const d of names) {
      const name = d.name;
      const r = rel === "" ? name : rel + "/" + name;
      if (rel === "" && name === FERRY_DIR) continue;
      const full = dirPath + sep + name;
      if (isTempName(name)) {
        try {
          temps.push({ key: r, mtime: Deno.lstatSync(full).mtime?.getTime() ?? 0 });
        } catch { /* gone already */ }
        continue;
      }
      if (d.isSymlink) {
        skipped.push({ key: r, reason: "symbolic link (not followed)" });
        continue;
      }
      if (!d.isFile && !d.isDirectory) {
        skipped.push({ key: r, reason: "not a regular file or folder" });
        continue;
      }
      if (skip?.(r.normalize("NFC"), d.isDirectory)) continue;
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(full);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) continue;
        problems.push({ key: r, message: err instanceof Error ? err.message : String(err) });
        continue;
      }
      paths.push(r);
      dirs.push(d.isDirectory ? 1 : 0);
      sizes.push(d.isDirectory ? 0 : st.size);
      mtimes.push(st.mtime?.getTime() ?? 0);
      inos.push(st.ino ?? 0);
      devs.push(st.dev ?? 0);
      modes.push(st.mode ?? 0);
      if (d.isDirectory) stack.push(r);
    }
  }
  return {
    paths,
    dirs: Uint8Array.from(dirs),
    sizes: Float64Array.from(sizes),
    mtimes: Float64Array.from(mtimes),
    inos: Float64Array.from(inos),
    devs: Float64Array.from(devs),
    modes: Uint32Array.from(modes),
    problems,
    skipped,
    temps,
  };
}

interface Walker {
  worker: Worker;
  /** Set when the Worker failed before it was given work (say, it could not load). */
  error?: string;
}

function byName(a: Deno.DirEntry, b: Deno.DirEntry): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

let spare: Walker | undefined;

function newWalker(): Walker {
  const w: Walker = {
    worker: new Worker(new URL("./walk_worker.ts", import.meta.url), { type: "module" }),
  };
  w.worker.onerror = (e) => {
    e.preventDefault();
    w.error = e.message;
  };
  return w;
}

/**
 * Start a walker Worker now, so that its start-up overlaps other set-up work; the next
 * {@linkcode walkTreeInWorker} uses it.
 */
export function prewarmWalker(): void {
  spare ??= newWalker();
}

/**
 * Walk in a Worker so that the calling thread can do another walk meanwhile.
 *
 * @param root Absolute OS path of the root folder.
 * @param exclude gitignore-style patterns.
 * @returns The same as {@linkcode walkTree}.
 */
export function walkTreeInWorker(root: string, exclude: readonly string[]): Promise<RawTree> {
  const walker = spare ?? newWalker();
  spare = undefined;
  const worker = walker.worker;
  return new Promise<RawTree>((resolve, reject) => {
    if (walker.error !== undefined) {
      worker.terminate();
      reject(new Error(`Cannot start the folder walker: ${walker.error}`));
      return;
    }
    worker.onmessage = (e: MessageEvent<{ ok: RawTree } | { err: string; code: string }>) => {
      worker.terminate();
      const d = e.data;
      if ("ok" in d) resolve(d.ok);
      else {
        const ctor = (Deno.errors as unknown as Record<string, new (m: string) => Error>)[d.code] ??
          Error;
        reject(new ctor(d.err));
      }
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new Error(`Cannot start the folder walker: ${e.message}`));
    };
    worker.postMessage({ root, exclude });
  });
}
