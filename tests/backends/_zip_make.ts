/**
 * Small archives made byte by byte for the ZIP tests: names and flags no tool would write on
 * request (`./x`, `a//b`, a name twice, an encrypted entry), with no tool needed.
 *
 * @module
 */
import { crc32 } from "node:zlib";
import {
  centralRecord,
  endRecords,
  localHeader,
  type NewEntry,
} from "../../lib/backends/zip/format.ts";

/** One entry to write: stored, with its name as given. */
export interface Made {
  name: string;
  data: string;
  /** Flagged as encrypted (its bytes are not). */
  encrypted?: boolean;
}

/**
 * An archive holding the entries in order (stored, UTF-8 names).
 *
 * @param entries The entries.
 * @returns The archive's bytes.
 */
export function makeZip(entries: Made[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const records: Uint8Array[] = [];
  let pos = 0;
  for (const x of entries) {
    const payload = new TextEncoder().encode(x.data);
    const e: NewEntry = {
      nameBytes: new TextEncoder().encode(x.name),
      method: 0,
      crc: crc32(payload),
      csize: payload.length,
      usize: payload.length,
      offset: pos,
      mtime: Date.UTC(2026, 0, 1),
      mode: x.name.endsWith("/") ? 0o040755 : 0o100644,
    };
    const head = localHeader(e, false);
    const rec = centralRecord(e);
    if (x.encrypted) {
      head[6]! |= 1;
      rec[8]! |= 1;
    }
    parts.push(head, payload);
    records.push(rec);
    pos += head.length + payload.length;
  }
  const cd = concat(records);
  return concat([...parts, cd, endRecords(entries.length, pos, cd.length)]);
}

/** The names in an archive's central directory, as stored, in order. */
export function namesIn(zip: Uint8Array): string[] {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const eocd = zip.length - 22;
  const count = v.getUint16(eocd + 10, true);
  let p = v.getUint32(eocd + 16, true);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = v.getUint16(p + 28, true);
    const m = v.getUint16(p + 30, true);
    const k = v.getUint16(p + 32, true);
    out.push(new TextDecoder().decode(zip.subarray(p + 46, p + 46 + n)));
    p += 46 + n + m + k;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let n = 0;
  for (const p of parts) out.set(p, n), n += p.length;
  return out;
}
