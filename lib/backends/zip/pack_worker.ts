/// <reference lib="deno.worker" />
/**
 * Worker entry of the ZIP packer: reads small files whole and compresses them, so that two
 * cores share the work while the calling thread places the results in the archive.
 *
 * @module
 */
import { crc32, deflateRawSync } from "node:zlib";
import { readSmallFile } from "../local/copy.ts";
import { type Packed, packOne, type PackRequest } from "./pack.ts";

self.onmessage = (e: MessageEvent<PackRequest>) => {
  const out: Packed[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const [i, path] of e.data.paths.entries()) {
    const p = packOne(path, e.data.keys[i]!, readSmallFile, deflateRawSync, crc32);
    out.push(p);
    if ("payload" in p) buffers.push(p.payload.buffer as ArrayBuffer);
  }
  self.postMessage({ id: e.data.id, results: out }, buffers);
};
