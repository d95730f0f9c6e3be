/**
 * Compressing small files for an archive, on the calling thread or in Workers
 * (`pack_worker.ts`): one file's entry data, and a pool that spreads batches over two Workers.
 *
 * @module
 */

/** One file packed: its entry's data, or why it could not be read whole. */
export type Packed =
  | { payload: Uint8Array; method: number; crc: number; usize: number; mtime: number }
  | { large: true }
  | { error: string };

/** A batch for a Worker. */
export interface PackRequest {
  id: number;
  paths: string[];
  keys: string[];
}

/**
 * Read and compress one small file (stored when compressing does not make it smaller).
 *
 * @param path The file.
 * @param key Names it in errors.
 * @param read Reads a small file whole (undefined when it is large or racy).
 * @param deflate Raw deflate.
 * @param crc CRC-32.
 * @returns The packed entry data.
 */
export function packOne(
  path: string,
  key: string,
  read: (path: string, key: string) => { bytes: Uint8Array; mtime: number } | undefined,
  deflate: (b: Uint8Array) => Uint8Array,
  crc: (b: Uint8Array) => number,
): Packed {
  try {
    const small = read(path, key);
    if (!small) return { large: true };
    // Already compressed (a photo, an archive): stored without trying, as deflate would only
    // have made it bigger. What looks random is judged so from samples of its bytes.
    const packed = looksIncompressible(small.bytes) ? small.bytes : deflate(small.bytes);
    const stored = packed.length >= small.bytes.length;
    return {
      payload: stored ? small.bytes.slice() : new Uint8Array(packed),
      method: stored ? 0 : 8,
      crc: crc(small.bytes),
      usize: small.bytes.length,
      mtime: small.mtime,
    };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** Bytes looked at in each of three places (start, middle, end) of a file. */
const SAMPLE = 1024;

/**
 * Whether data looks incompressible: the byte histogram of three samples (start, middle and end,
 * 1 KiB each) is as flat as random bytes' (over 7.7 bits a byte; text is about 4.5, base64 6,
 * JPEG, PNG, ZIP and other compressed data 7.8–7.95). Deflate cannot shrink such data; only
 * files of at least 2 KiB are judged (a smaller sample says too little).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(looksIncompressible(crypto.getRandomValues(new Uint8Array(4096))), true);
 * assert.equal(looksIncompressible(new TextEncoder().encode("hello world ".repeat(400))), false);
 * ```
 *
 * @param b The data.
 * @returns True when compressing it is not worth trying.
 */
export function looksIncompressible(b: Uint8Array): boolean {
  if (b.length < 2 * SAMPLE) return false;
  const counts = new Uint32Array(256);
  const starts = [0, (b.length >> 1) - (SAMPLE >> 1), b.length - SAMPLE];
  for (const s of starts) for (let i = s; i < s + SAMPLE; i++) counts[b[i]!]!++;
  const n = 3 * SAMPLE;
  let bits = 0;
  for (const c of counts) if (c > 0) bits -= (c / n) * Math.log2(c / n);
  return bits > 7.7;
}

/** Files per message: enough to pay for the message, few enough to keep both Workers busy. */
const BATCH = 64;

/**
 * Pack files with two Workers, handing the results back in order, batch by batch.
 *
 * @param paths The files.
 * @param keys Their keys (for errors).
 * @param onBatch Called with each batch's results in order (its first index, the results).
 * @param signal Stops handing out batches.
 */
export async function packWithWorkers(
  paths: string[],
  keys: string[],
  onBatch: (first: number, results: Packed[]) => void | Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const batches = Math.ceil(paths.length / BATCH);
  const workers = [0, 1].map(() =>
    new Worker(new URL("./pack_worker.ts", import.meta.url), { type: "module" })
  );
  const ready = new Map<number, Packed[]>();
  let next = 0;
  let wake: () => void = () => {};
  let failed: Error | undefined;
  const send = (w: Worker) => {
    if (next >= batches || signal.aborted) return;
    const id = next++;
    const from = id * BATCH;
    w.postMessage(
      {
        id,
        paths: paths.slice(from, from + BATCH),
        keys: keys.slice(from, from + BATCH),
      } satisfies PackRequest,
    );
  };
  for (const w of workers) {
    w.onmessage = (e: MessageEvent<{ id: number; results: Packed[] }>) => {
      ready.set(e.data.id, e.data.results);
      send(w);
      wake();
    };
    w.onerror = (e) => {
      e.preventDefault();
      failed = new Error(`ZIP packing Worker failed: ${e.message}`);
      wake();
    };
    // Two batches each in flight: a Worker starts the next while its last is placed.
    send(w);
    send(w);
  }
  try {
    for (let id = 0; id < batches; id++) {
      while (!ready.has(id)) {
        if (failed) throw failed;
        if (signal.aborted && id >= next) return;
        await new Promise<void>((r) => wake = r);
      }
      const results = ready.get(id)!;
      ready.delete(id);
      await onBatch(id * BATCH, results);
    }
  } finally {
    for (const w of workers) w.terminate();
  }
}
