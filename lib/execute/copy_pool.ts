/**
 * A pool of Workers for local-to-local copies: batches of files go to each Worker, which
 * copies them with synchronous calls. On a 2-core machine this copies many small files
 * 2–3× faster than async calls from one thread.
 *
 * @module
 */

/** One file to copy. */
export interface CopyJob {
  id: number;
  src: string;
  dst: string;
  size: number;
  mtime: number;
  expect?: { size: number; mtime: number };
}

/** What became of one job. */
export type CopyResult =
  | { id: number; ok: true }
  | { id: number; ok: false; changed: boolean; error: string };

const BATCH_FILES = 128;
const BATCH_BYTES = 32 << 20;

/**
 * Copy files with `workers` Workers.
 *
 * @param jobs The files.
 * @param workers How many Workers.
 * @param onResult Called for each finished job, in batches.
 * @param signal Stops handing out batches when aborted (batches under way finish).
 */
export async function copyWithWorkers(
  jobs: readonly CopyJob[],
  workers: number,
  onResult: (r: CopyResult) => void,
  signal?: AbortSignal,
): Promise<void> {
  const batches: CopyJob[][] = [];
  let cur: CopyJob[] = [];
  let bytes = 0;
  for (const j of jobs) {
    cur.push(j);
    bytes += j.size;
    if (cur.length >= BATCH_FILES || bytes >= BATCH_BYTES) {
      batches.push(cur);
      cur = [];
      bytes = 0;
    }
  }
  if (cur.length) batches.push(cur);
  let next = 0;
  const n = Math.max(1, Math.min(workers, batches.length));
  await Promise.all(Array.from({ length: n }, async () => {
    const w = new Worker(new URL("./copy_worker.ts", import.meta.url), { type: "module" });
    try {
      while (next < batches.length && !signal?.aborted) {
        const batch = batches[next++]!;
        const results = await new Promise<CopyResult[]>((resolve, reject) => {
          w.onmessage = (e: MessageEvent<CopyResult[]>) => resolve(e.data);
          w.onerror = (e) => {
            e.preventDefault();
            reject(new Error(e.message));
          };
          w.postMessage(batch);
        });
        for (const r of results) onResult(r);
      }
    } finally {
      w.terminate();
    }
  }));
}
