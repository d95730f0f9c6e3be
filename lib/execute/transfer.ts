/**
 * One file's content from one location to another.
 *
 * @module
 */
import {
  type Backend,
  type Entry,
  fastPath,
  osPathOf,
  type WriteMeta,
} from "../backends/backend.ts";
import { bytesOf } from "../util/streams.ts";
import { Interrupted } from "./failures.ts";

/**
 * Copy one file from `src` to `dst` atomically, through the fastest path both sides allow.
 *
 * @param src Source backend.
 * @param srcKey Source key.
 * @param dst Destination backend.
 * @param key Destination key.
 * @param meta Size and modification time to keep.
 * @param onBytes Hears the bytes as they flow (for progress).
 * @param signal Cuts the copy short: the writer drops what it wrote.
 * @returns The written destination entry.
 */
export async function transfer(
  src: Backend,
  srcKey: string,
  dst: Backend,
  key: string,
  meta: WriteMeta,
  onBytes?: (n: number) => void,
  signal?: AbortSignal,
): Promise<Entry> {
  const copyIn = fastPath(dst, "copyInFromPath");
  const path = copyIn ? osPathOf(src, srcKey) : undefined;
  if (copyIn && path !== undefined) return await copyIn(path, key, meta);
  if (signal?.aborted) throw new Interrupted();
  const data = await src.read(srcKey);
  // A small file read whole goes to the writer as it is: nothing to count chunk by chunk, and
  // no large write to cut short.
  const whole = bytesOf(data);
  if (whole) {
    onBytes?.(whole.byteLength);
    return await dst.write(key, data, meta);
  }
  let onAbort = () => {};
  // The bytes flow through here: counted for progress, and cut when the run is interrupted, so
  // that the writer drops what it wrote (a multipart upload is aborted, a temporary file
  // removed) instead of finishing a large file after Ctrl-C or SIGTERM.
  const watched = data.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(c) {
        onAbort = () => c.error(new Interrupted());
        signal?.addEventListener("abort", onAbort, { once: true });
      },
      transform(chunk, c) {
        onBytes?.(chunk.byteLength);
        c.enqueue(chunk);
      },
    }),
  );
  try {
    return await dst.write(key, watched, meta);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
