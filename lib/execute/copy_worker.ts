/// <reference lib="deno.worker" />
/**
 * Worker entry of the local copy pool: copies batches of files with synchronous calls.
 *
 * @module
 */
import { copyFileAtomicSync, TargetChanged } from "../backends/local_copy.ts";
import type { CopyJob, CopyResult } from "./copy_pool.ts";

self.onmessage = (e: MessageEvent<CopyJob[]>) => {
  const out: CopyResult[] = [];
  for (const job of e.data) {
    try {
      copyFileAtomicSync(job.src, job.dst, job.mtime, job.expect, job.known);
      out.push({ id: job.id, ok: true });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      out.push({
        id: job.id,
        ok: false,
        changed: err instanceof TargetChanged,
        error: error.message,
      });
    }
  }
  self.postMessage(out);
};
