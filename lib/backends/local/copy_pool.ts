/**
 * A pool of Workers for local-to-local copies: batches of files go to each Worker, which
 * copies them with synchronous calls. On a 2-core machine this copies many small files
 * 2–3× faster than async calls from one thread.
 *
 * @module
 */

/**
 * One file to copy. Paths are relative to the call's roots (see {@linkcode CopyRoots}): at
 * 200,000 files, absolute paths held for the whole copy cost 30 MB more.
 */
export interface CopyJob {
  id: number;
  src: string;
  dst: string;
  /** Size as the walk saw it (saves a stat per file). */
  size: number;
  mtime: number;
  expect?: { size: number; mtime: number };
  /** The source's permission bits as the walk saw them. */
  mode?: number;
}

/** The roots a copy's relative paths hang from, each ending in a separator. */
export interface CopyRoots {
  src: string;
  dst: string;
  /** Set the time again after the rename (the destination's rename resets it). */
  retime?: boolean;
}

/** What became of one job: when done, the size and time of the version copied. */
export type CopyResult =
  & { id: number; /** KiB this job added to the shared progress count. */ kib?: number }
  & (
    | { ok: true; size: number; mtime: number }
    | { ok: false; changed: boolean; stopped?: boolean; error: string }
  );

/**
 * Memory shared with the copy Workers: `[0]` is set to 1 to stop (checked between files and
 * between the chunks of a large file), `[1]` counts KiB copied of large files (progress).
 */
export type CopyShared = Int32Array;

/** A new block of shared memory for one {@linkcode copyWithWorkers} call. */
export function newCopyShared(): CopyShared {
  return new Int32Array(new SharedArrayBuffer(8));
}

/** The message a copy Worker takes: a batch, its roots, and the shared memory of its call. */
export interface CopyBatch {
  jobs: CopyJob[];
  roots: CopyRoots;
  shared: CopyShared;
}

let spares: Worker[] = [];

function newCopyWorker(): Worker {
  return new Worker(new URL("./copy_worker.ts", import.meta.url), { type: "module" });
}

/**
 * Start `n` copy Workers now, for the next {@linkcode copyWithWorkers} to use: a Worker takes
 * 16–30 ms of the calling thread to create, time that is free while the calling thread waits
 * for something else (a walk by `find`). {@linkcode releaseSpareCopyWorkers} ends the unused.
 *
 * @param n How many Workers.
 */
export function prewarmCopyWorkers(n: number): void {
  while (spares.length < n) {
    const w = newCopyWorker();
    // Until a copy takes it over, a failure to start is noted here (unhandled, it would end
    // the process); such a spare is not used.
    w.onerror = (e) => {
      e.preventDefault();
      failedSpares.add(w);
    };
    spares.push(w);
  }
}

const failedSpares = new WeakSet<Worker>();

/** A prewarmed Worker that has not failed, or a new one. */
function takeWorker(): Worker {
  for (let w = spares.pop(); w !== undefined; w = spares.pop()) {
    if (!failedSpares.has(w)) return w;
    w.terminate();
  }
  return newCopyWorker();
}

/** End the prewarmed Workers that no copy used (a Worker left running keeps the process alive). */
export function releaseSpareCopyWorkers(): void {
  for (const w of spares) w.terminate();
  spares = [];
}

const BATCH_FILES = 128;
const BATCH_BYTES = 32 << 20;

/**
 * Copy files with `workers` Workers.
 *
 * @param jobs The files.
 * @param roots The roots their relative paths hang from.
 * @param workers How many Workers.
 * @param onResult Called for each finished job, in batches.
 * @param signal Stops handing out batches when aborted, and tells the Workers to stop: a file
 * being copied is abandoned (its temporary file removed) within one chunk.
 * @param shared Shared memory to watch the copy's progress by (made here when not given).
 */
export async function copyWithWorkers(
  jobs: readonly CopyJob[],
  roots: CopyRoots,
  workers: number,
  onResult: (r: CopyResult) => void,
  signal?: AbortSignal,
  shared: CopyShared = newCopyShared(),
): Promise<void> {
  const stop = () => Atomics.store(shared, 0, 1);
  if (signal?.aborted) stop();
  signal?.addEventListener("abort", stop, { once: true });
  // A batch never spans two destination folders: two Workers creating files in one folder
  // contend for its lock, and that costs more than the second Worker gains.
  const batches: CopyJob[][] = [];
  let cur: CopyJob[] = [];
  let bytes = 0;
  let curDir = "";
  for (const j of jobs) {
    const dir = j.dst.slice(0, Math.max(j.dst.lastIndexOf("/"), j.dst.lastIndexOf("\\")));
    if (cur.length > 0 && (dir !== curDir || cur.length >= BATCH_FILES || bytes >= BATCH_BYTES)) {
      batches.push(cur);
      cur = [];
      bytes = 0;
    }
    curDir = dir;
    cur.push(j);
    bytes += j.size;
  }
  if (cur.length) batches.push(cur);
  let next = 0;
  const n = Math.max(1, Math.min(workers, batches.length));
  await Promise.all(Array.from({ length: n }, () =>
    new Promise<void>((resolve, reject) => {
      const w = takeWorker();
      let inFlight = 0;
      // Two batches per Worker: it starts the next while we handle the last one's results.
      const feed = () => {
        while (inFlight < 2 && next < batches.length && !signal?.aborted) {
          inFlight++;
          // Handed over: the batch is not kept here (the Worker has its own copy).
          const batch = batches[next]!;
          batches[next++] = [];
          w.postMessage({ jobs: batch, roots, shared } satisfies CopyBatch);
        }
        if (inFlight === 0) {
          w.terminate();
          resolve();
        }
      };
      w.onmessage = (e: MessageEvent<CopyResult[]>) => {
        inFlight--;
        for (const r of e.data) onResult(r);
        feed();
      };
      w.onerror = (e) => {
        e.preventDefault();
        w.terminate();
        reject(new Error(`Copy worker failed: ${e.message}`));
      };
      feed();
    }))).finally(() => signal?.removeEventListener("abort", stop));
}
