/// <reference lib="deno.worker" />
/**
 * Worker entry of the local copy pool: copies batches of files with synchronous calls. A stop
 * set in the shared memory ends the batch between files (and a large file between chunks).
 *
 * @module
 */
import { copyFileAtomicSync, CopyStopped, TargetChanged } from "./copy.ts";
import type { CopyBatch, CopyResult } from "./copy_pool.ts";

self.onmessage = (e: MessageEvent<CopyBatch>) => {
  const { jobs, roots, shared } = e.data;
  const stop = () => Atomics.load(shared, 0) === 1;
  let kib = 0;
  const onBytes = (n: number) => {
    kib += n >>> 10;
    Atomics.add(shared, 1, n >>> 10);
  };
  const out: CopyResult[] = [];
  for (const job of jobs) {
    kib = 0;
    if (stop()) {
      out.push({ id: job.id, ok: false, changed: false, stopped: true, error: "interrupted" });
      continue;
    }
    try {
      const got = copyFileAtomicSync(
        roots.src + job.src,
        roots.dst + job.dst,
        job.mtime,
        job.expect,
        job.mode ? { size: job.size, mode: job.mode } : { size: job.size },
        stop,
        onBytes,
        roots.retime,
      );
      out.push({ id: job.id, ok: true, size: got.size, mtime: got.mtime, kib });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      out.push({
        id: job.id,
        ok: false,
        changed: err instanceof TargetChanged,
        stopped: err instanceof CopyStopped,
        error: error.message,
        kib,
      });
    }
  }
  self.postMessage(out);
};
