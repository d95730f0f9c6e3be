/**
 * Small helpers over byte streams that more than one backend uses.
 *
 * @module
 */

/**
 * Read a stream whole, failing if it ends at another size than expected (a source that grew
 * or shrank while it was read must not land as a torn copy).
 *
 * @param data The stream.
 * @param size The size it must have.
 * @param key Names the file in the error.
 * @returns The bytes.
 */
export async function readExactly(
  data: ReadableStream<Uint8Array>,
  size: number,
  key: string,
): Promise<Uint8Array> {
  const known = bytesOf(data);
  if (known) {
    if (known.byteLength > size) {
      throw new Error(`"${key}" grew while it was read (more than ${size} bytes)`);
    }
    if (known.byteLength < size) {
      throw new Error(`"${key}" shrank while it was read (${known.byteLength} of ${size} bytes)`);
    }
    return known;
  }
  const buf = new Uint8Array(size);
  let got = 0;
  for await (const chunk of data) {
    if (got + chunk.byteLength > size) {
      throw new Error(`"${key}" grew while it was read (more than ${size} bytes)`);
    }
    buf.set(chunk, got);
    got += chunk.byteLength;
  }
  if (got !== size) throw new Error(`"${key}" shrank while it was read (${got} of ${size} bytes)`);
  return buf;
}

const held = new WeakMap<ReadableStream<Uint8Array>, Uint8Array>();

/**
 * A stream of bytes already in memory (a small file read whole), which a writer may take
 * whole with {@linkcode bytesOf} instead of reading it chunk by chunk: 1,000 small uploads
 * spent a tenth of their time in the web streams' machinery.
 *
 * @example A writer takes the bytes whole
 * ```ts
 * import assert from "node:assert/strict";
 * const s = streamOf(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(bytesOf(s), new Uint8Array([1, 2, 3]));
 * assert.equal(bytesOf(ReadableStream.from([new Uint8Array(1)])), undefined);
 * ```
 *
 * @param bytes The content.
 * @returns A stream of it.
 */
export function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  const s = ReadableStream.from([bytes]);
  held.set(s, bytes);
  return s;
}

/**
 * The bytes behind a stream made by {@linkcode streamOf}, while nobody has read from it.
 *
 * @param s A stream.
 * @returns Its whole content, or undefined when it must be read.
 */
export function bytesOf(s: ReadableStream<Uint8Array>): Uint8Array | undefined {
  return s.locked ? undefined : held.get(s);
}
