/**
 * Streaming SHA-256: constant memory for any file size.
 *
 * @module
 */

/**
 * Hash a stream of bytes.
 *
 * @param stream The bytes.
 * @returns Lower-case hex SHA-256.
 * @example Hash a few bytes
 * ```ts
 * import assert from "node:assert/strict";
 * const hex = await sha256Stream(ReadableStream.from([new TextEncoder().encode("abc")]));
 * assert.deepEqual(hex.slice(0, 8), "ba7816bf");
 * ```
 */
export async function sha256Stream(stream: ReadableStream<Uint8Array>): Promise<string> {
  // Loaded on first use: node:crypto adds ~18 ms to start-up, and most runs hash nothing.
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  for await (const chunk of stream) h.update(chunk);
  return h.digest("hex");
}
