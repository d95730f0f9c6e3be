/// <reference lib="deno.worker" />
/**
 * Worker entry of {@linkcode walkTrees}: claims shared folders and walks them until none is
 * left, then posts the columns back.
 *
 * @module
 */
import { loadFilter } from "../../scan/filter.ts";
import { type WalkReply, type WalkRequest, walkTasks } from "./walk.ts";

self.onmessage = async (e: MessageEvent<WalkRequest>) => {
  let reply: WalkReply;
  try {
    const { roots, exclude, tasks, owners } = e.data;
    const skip = await loadFilter(exclude);
    reply = { ok: walkTasks(roots, tasks, new Int32Array(owners), 2, skip) };
  } catch (err) {
    const e2 = err instanceof Error ? err : new Error(String(err));
    reply = { err: e2.message, code: e2.name };
  }
  self.postMessage(reply);
};
