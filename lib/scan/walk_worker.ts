/// <reference lib="deno.worker" />
/**
 * Worker entry for {@linkcode walkTree}: walks one tree and posts the columns back.
 *
 * @module
 */
import { walkTree } from "./walk.ts";

self.onmessage = (e: MessageEvent<{ root: string; exclude: string[] }>) => {
  try {
    self.postMessage({ ok: walkTree(e.data.root, e.data.exclude) });
  } catch (err) {
    const e2 = err instanceof Error ? err : new Error(String(err));
    self.postMessage({ err: e2.message, code: e2.name });
  }
};
