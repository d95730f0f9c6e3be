/// <reference lib="deno.worker" />
/**
 * Worker entry for {@linkcode walkTree}: walks one tree and posts the columns back.
 *
 * @module
 */
import { loadFilter } from "./filter.ts";
import { walkTree } from "./walk.ts";

self.onmessage = async (e: MessageEvent<{ root: string; exclude: string[] }>) => {
  try {
    const skip = await loadFilter(e.data.exclude);
    self.postMessage({ ok: walkTree(e.data.root, skip) });
  } catch (err) {
    const e2 = err instanceof Error ? err : new Error(String(err));
    self.postMessage({ err: e2.message, code: e2.name });
  }
};
