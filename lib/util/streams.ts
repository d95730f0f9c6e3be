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
