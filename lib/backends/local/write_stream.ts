/**
 * Writing a stream into a local file so that what the file holds is known, not assumed.
 *
 * Deno's `FsFile.writable` (2.9) does not report a failed write reliably: its sink catches the
 * error (ENOSPC on a full disk) and errors the stream, yet a writer's `write` and `close`
 * resolve, and a pipe into it fails only when it happens to look again before its source ends.
 * A small file (one chunk) on a full disk was so "written" with 0 bytes; ferry counted the bytes
 * it had received, renamed the empty temporary file to the real name and reported it copied.
 * Here every chunk goes through `FsFile.write`, which rejects on any error, the bytes are counted
 * as the file system takes them, and the open file is looked at once before the caller renames
 * it.
 *
 * @module
 */
import { bytesOf } from "../../util/streams.ts";

/**
 * Write all of `data` into the open file `f` (at its position, from an empty file), failing
 * unless the stream delivers exactly `size` bytes, every one of them was written, and the file
 * then holds exactly that many (one `fstat`). The caller removes the file when this throws.
 *
 * @example A stream that ends early is refused
 * ```ts
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const f = await Deno.open(`${dir}/t`, { write: true, createNew: true });
 * const short = ReadableStream.from([new Uint8Array(3)]);
 * await assert.rejects(writeStreamExactly(f, short, 5, "a.txt"), /sent 3 of the 5 bytes/);
 * f.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param f A file open for writing, empty.
 * @param data The content.
 * @param size The bytes the source promised.
 * @param name Names the file in errors.
 * @returns The bytes written (`size`).
 * @throws {Error} When the stream is shorter or longer than `size`, or the file does not hold
 * what was written (a full disk, a short write).
 */
export async function writeStreamExactly(
  f: Deno.FsFile,
  data: ReadableStream<Uint8Array>,
  size: number,
  name: string,
): Promise<number> {
  let written = 0;
  const put = async (chunk: Uint8Array) => {
    if (written + chunk.byteLength > size) {
      throw new Error(`"${name}": the source sent more than the ${size} bytes it promised`);
    }
    for (let p = 0; p < chunk.byteLength;) {
      const n = await f.write(chunk.subarray(p));
      if (n <= 0) throw new Error(`"${name}": the disk took no more after ${written} bytes`);
      p += n;
      written += n;
    }
  };
  const whole = bytesOf(data);
  if (whole) {
    await put(whole);
  } else {
    const reader = data.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await put(value);
      }
    } catch (err) {
      reader.cancel(err).catch(() => {});
      throw err;
    }
  }
  if (written !== size) {
    throw new Error(`"${name}": the source sent ${written} of the ${size} bytes it promised`);
  }
  const held = f.statSync().size;
  if (held !== written) {
    throw new Error(`"${name}": the file holds ${held} of the ${written} bytes written to it`);
  }
  return written;
}
