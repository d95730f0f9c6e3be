/**
 * The ZIP container (APPNOTE 6.3.10): the end records, central directory entries, local
 * headers, and the time fields ferry reads and writes. Pure functions over bytes: the backend
 * (`zip.ts`) does the file I/O.
 *
 * @module
 */

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_ZIP64_EOCD = 0x06064b50;
export const SIG_ZIP64_LOCATOR = 0x07064b50;

/** General purpose flag: names and comments are UTF-8. */
export const FLAG_UTF8 = 0x0800;
/** General purpose flag: sizes and CRC follow the data in a descriptor. */
export const FLAG_DESCRIPTOR = 0x0008;
/** General purpose flag: the entry is encrypted (ferry cannot read it). */
export const FLAG_ENCRYPTED = 0x0001;

export const METHOD_STORED = 0;
export const METHOD_DEFLATE = 8;

/** A 32-bit field that says "see the ZIP64 extra field". */
export const MAX32 = 0xffffffff;
/** A 16-bit count that says "see the ZIP64 end record". */
export const MAX16 = 0xffff;

/** Fixed sizes of the records. */
export const LOCAL_SIZE = 30;
export const CENTRAL_SIZE = 46;
export const EOCD_SIZE = 22;
export const ZIP64_EOCD_SIZE = 56;
export const ZIP64_LOCATOR_SIZE = 20;

/** Windows FILETIME (100 ns since 1601) of the Unix epoch. */
const FILETIME_EPOCH = 116444736000000000n;

/** One entry of the central directory, as ferry keeps it. */
export interface CentralEntry {
  /** The name as stored (decoded), with a trailing `/` for a folder. */
  name: string;
  method: number;
  flags: number;
  crc: number;
  csize: number;
  usize: number;
  /** Offset of the local header. */
  offset: number;
  /** Modification time in ms: NTFS field, else extended timestamp, else DOS time. */
  mtime: number;
  /** What `mtime` came from: 1 ms (NTFS), 1000 ms (UT) or 2000 ms (DOS). */
  precision: number;
  /** Unix mode bits, where the maker stored them. */
  mode: number;
  /** The whole central record as read (kept as it was when the entry is not rewritten). */
  raw?: Uint8Array;
}

/** The end of an archive: where its directory is and how many entries it holds. */
export interface EndRecord {
  entries: number;
  cdOffset: number;
  cdSize: number;
  /** Offset of the first end record (ZIP64 or plain): where new entries may start. */
  endOffset: number;
}

/**
 * Find the end record in the last bytes of an archive.
 *
 * @param tail The last up to 65,557 bytes of the file.
 * @param tailStart The file offset of `tail[0]`.
 * @param readAt Reads bytes at an offset (for the ZIP64 end record).
 * @returns The end record, or undefined when there is none (not a ZIP archive).
 */
export function findEnd(
  tail: Uint8Array,
  tailStart: number,
  readAt: (offset: number, length: number) => Uint8Array,
): EndRecord | undefined {
  const v = view(tail);
  // The last end record: one whose comment fits in the file, or one whose comment was cut short
  // if its directory is where it says (Info-ZIP and Python read such an archive; skipping it
  // would read an earlier record, another archive's inside this one's data). A signature whose
  // comment overruns the file and whose directory is not there is just bytes of other data.
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0 && at < 0; i--) {
    if (v.getUint32(i, true) !== SIG_EOCD) continue;
    const fits = i + EOCD_SIZE + v.getUint16(i + 20, true) <= tail.length;
    if (fits || directoryAt(v, i, tailStart, readAt)) at = i;
  }
  if (at < 0) return undefined;
  const i = at;
  let entries = v.getUint16(i + 10, true);
  let cdSize = v.getUint32(i + 12, true);
  let cdOffset = v.getUint32(i + 16, true);
  let endOffset = tailStart + i;
  if (entries === MAX16 || cdSize === MAX32 || cdOffset === MAX32) {
    const locAt = tailStart + i - ZIP64_LOCATOR_SIZE;
    if (locAt >= 0) {
      const loc = view(readAt(locAt, ZIP64_LOCATOR_SIZE));
      if (loc.getUint32(0, true) === SIG_ZIP64_LOCATOR) {
        const recAt = Number(loc.getBigUint64(8, true));
        const rec = view(readAt(recAt, ZIP64_EOCD_SIZE));
        if (rec.getUint32(0, true) !== SIG_ZIP64_EOCD) return undefined;
        entries = Number(rec.getBigUint64(32, true));
        cdSize = Number(rec.getBigUint64(40, true));
        cdOffset = Number(rec.getBigUint64(48, true));
        endOffset = recAt;
      }
    }
  }
  return { entries, cdOffset, cdSize, endOffset };
}

/** Whether the end record at `i` points at a central directory that ends where it begins. */
function directoryAt(
  v: DataView,
  i: number,
  tailStart: number,
  readAt: (offset: number, length: number) => Uint8Array,
): boolean {
  const cdSize = v.getUint32(i + 12, true);
  const cdOffset = v.getUint32(i + 16, true);
  if (cdOffset === MAX32 || cdSize === MAX32) return false;
  if (cdOffset + cdSize !== tailStart + i) return false;
  if (v.getUint16(i + 10, true) === 0) return cdSize === 0;
  try {
    return view(readAt(cdOffset, 4)).getUint32(0, true) === SIG_CENTRAL;
  } catch {
    return false;
  }
}

/** Code page 437, the bytes 0x80–0xFF (names of archives without the UTF-8 flag). */
const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■ ";

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Made once: a decoder a name cost 12 ms over 10,000 entries. */
const utf8Loose = new TextDecoder();

/**
 * A stored name as text: UTF-8 when flagged, or when the bytes are valid UTF-8 with something
 * beyond ASCII (macOS and many tools write UTF-8 without the flag), else code page 437.
 */
export function decodeName(bytes: Uint8Array, flags: number): string {
  if (flags & FLAG_UTF8) return utf8Loose.decode(bytes);
  if (bytes.every((b) => b < 0x80)) return String.fromCharCode(...bytes);
  try {
    return utf8.decode(bytes);
  } catch {
    let s = "";
    for (const b of bytes) s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
    return s;
  }
}

/** A DOS date and time (local time, 2 s) as ms since the epoch. */
export function fromDos(date: number, time: number): number {
  const d = new Date(
    1980 + (date >> 9),
    ((date >> 5) & 15) - 1,
    date & 31,
    time >> 11,
    (time >> 5) & 63,
    (time & 31) * 2,
  );
  return d.getTime();
}

/** ms since the epoch as a DOS date and time (local time, rounded down to 2 s). */
export function toDos(ms: number): { date: number; time: number } {
  const d = new Date(Math.max(ms, new Date(1980, 0, 1).getTime()));
  return {
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
  };
}

/**
 * Parse every central directory entry.
 *
 * @param cd The directory's bytes.
 * @returns The entries, in directory order.
 * @throws {Error} When a record is cut short or not a directory record.
 */
export function parseCentral(cd: Uint8Array): CentralEntry[] {
  const v = view(cd);
  const out: CentralEntry[] = [];
  let p = 0;
  while (p + CENTRAL_SIZE <= cd.length && v.getUint32(p, true) === SIG_CENTRAL) {
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const time = v.getUint16(p + 12, true);
    const date = v.getUint16(p + 14, true);
    const crc = v.getUint32(p + 16, true);
    let csize = v.getUint32(p + 20, true);
    let usize = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const madeBy = v.getUint16(p + 4, true) >> 8;
    const ext = v.getUint32(p + 38, true);
    let offset = v.getUint32(p + 42, true);
    const end = p + CENTRAL_SIZE + nameLen + extraLen + commentLen;
    if (end > cd.length) throw new Error("the central directory is cut short");
    const nameBytes = cd.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLen);
    let name = decodeName(nameBytes, flags);
    // The DOS time only where no finer one is stored (a Date an entry is not free).
    let mtime = 0;
    let precision = 2000;
    // The extra fields, read in place (a view and a generator a field cost a fifth of reading
    // a directory of 10,000 entries); a malformed tail is ignored.
    const extraEnd = p + CENTRAL_SIZE + nameLen + extraLen;
    for (let q = p + CENTRAL_SIZE + nameLen; q + 4 <= extraEnd;) {
      const id = v.getUint16(q, true);
      const len = v.getUint16(q + 2, true);
      const at = q + 4; // the field's data: cd[at, at + len)
      if (at + len > extraEnd) break;
      q = at + len;
      if (id === 0x0001) {
        // ZIP64: the 8-byte values of the fields that hold 0xFFFFFFFF, in this order.
        let r = at;
        if (usize === MAX32 && r + 8 <= at + len) usize = Number(v.getBigUint64(r, true)), r += 8;
        if (csize === MAX32 && r + 8 <= at + len) csize = Number(v.getBigUint64(r, true)), r += 8;
        if (offset === MAX32 && r + 8 <= at + len) offset = Number(v.getBigUint64(r, true));
      } else if (id === 0x000a && len >= 32 && precision > 1) {
        // NTFS: reserved, then tag 1 (24 bytes: mtime, atime, ctime as FILETIME).
        if (v.getUint16(at + 4, true) === 1 && v.getUint16(at + 6, true) >= 8) {
          const ft = v.getBigUint64(at + 8, true);
          mtime = Number((ft - FILETIME_EPOCH) / 10000n);
          precision = 1;
        }
      } else if (id === 0x5455 && len >= 5 && (cd[at]! & 1) && precision > 1000) {
        mtime = v.getInt32(at + 1, true) * 1000;
        precision = 1000;
      } else if (id === 0x7075 && len > 5 && cd[at] === 1) {
        // Info-ZIP's Unicode path: the UTF-8 name, valid while the stored name is unchanged.
        try {
          name = utf8.decode(cd.subarray(at + 5, at + len));
        } catch { /* keep the stored name */ }
      }
    }
    if (precision === 2000) mtime = fromDos(date, time);
    out.push({
      name,
      method,
      flags,
      crc,
      csize,
      usize,
      offset,
      mtime,
      precision,
      mode: madeBy === 3 ? ext >>> 16 : 0,
      raw: cd.subarray(p, end),
    });
    p = end;
  }
  return out;
}

/** What ferry writes for an entry. */
export interface NewEntry {
  nameBytes: Uint8Array;
  method: number;
  crc: number;
  csize: number;
  usize: number;
  offset: number;
  mtime: number;
  /** Unix mode bits (type and permissions). */
  mode: number;
}

/** Whether an entry needs ZIP64 fields. */
export function needsZip64(e: Pick<NewEntry, "csize" | "usize" | "offset">): boolean {
  return e.csize >= MAX32 || e.usize >= MAX32 || e.offset >= MAX32;
}

/** Bytes of the time fields ferry writes: an extended timestamp (9) and an NTFS field (36). */
export const TIME_EXTRAS_SIZE = 9 + 36;

/** The extended timestamp (seconds) and NTFS (100 ns) fields for a time. */
function timeExtras(mtime: number): Uint8Array {
  const b = new Uint8Array(TIME_EXTRAS_SIZE);
  const v = view(b);
  v.setUint16(0, 0x5455, true);
  v.setUint16(2, 5, true);
  b[4] = 1;
  v.setInt32(5, Math.floor(mtime / 1000), true);
  v.setUint16(9, 0x000a, true);
  v.setUint16(11, 32, true);
  v.setUint16(17, 1, true);
  v.setUint16(19, 24, true);
  const ft = BigInt(Math.round(mtime)) * 10000n + FILETIME_EPOCH;
  v.setBigUint64(21, ft, true);
  v.setBigUint64(29, ft, true);
  v.setBigUint64(37, ft, true);
  return b;
}

/**
 * A local header. With `zip64` its sizes are in a ZIP64 field (an entry that may pass 4 GiB),
 * so that they can be patched in place once known.
 */
export function localHeader(e: NewEntry, zip64: boolean): Uint8Array {
  const times = timeExtras(e.mtime);
  const z = zip64 ? 20 : 0;
  const b = new Uint8Array(LOCAL_SIZE + e.nameBytes.length + times.length + z);
  const v = view(b);
  const dos = toDos(e.mtime);
  v.setUint32(0, SIG_LOCAL, true);
  v.setUint16(4, zip64 ? 45 : 20, true);
  v.setUint16(6, FLAG_UTF8, true);
  v.setUint16(8, e.method, true);
  v.setUint16(10, dos.time, true);
  v.setUint16(12, dos.date, true);
  v.setUint32(14, e.crc, true);
  v.setUint32(18, zip64 ? MAX32 : e.csize, true);
  v.setUint32(22, zip64 ? MAX32 : e.usize, true);
  v.setUint16(26, e.nameBytes.length, true);
  v.setUint16(28, times.length + z, true);
  b.set(e.nameBytes, LOCAL_SIZE);
  b.set(times, LOCAL_SIZE + e.nameBytes.length);
  if (zip64) {
    const at = LOCAL_SIZE + e.nameBytes.length + times.length;
    v.setUint16(at, 0x0001, true);
    v.setUint16(at + 2, 16, true);
    v.setBigUint64(at + 4, BigInt(e.usize), true);
    v.setBigUint64(at + 12, BigInt(e.csize), true);
  }
  return b;
}

/** A central directory record for an entry ferry wrote. */
export function centralRecord(e: NewEntry): Uint8Array {
  const times = timeExtras(e.mtime);
  const big = [e.usize >= MAX32, e.csize >= MAX32, e.offset >= MAX32];
  const z = big.filter(Boolean).length;
  const zlen = z ? 4 + 8 * z : 0;
  const b = new Uint8Array(CENTRAL_SIZE + e.nameBytes.length + times.length + zlen);
  const v = view(b);
  const dos = toDos(e.mtime);
  v.setUint32(0, SIG_CENTRAL, true);
  v.setUint16(4, (3 << 8) | 63, true); // made by Unix, APPNOTE 6.3
  v.setUint16(6, z ? 45 : 20, true);
  v.setUint16(8, FLAG_UTF8, true);
  v.setUint16(10, e.method, true);
  v.setUint16(12, dos.time, true);
  v.setUint16(14, dos.date, true);
  v.setUint32(16, e.crc, true);
  v.setUint32(20, big[1] ? MAX32 : e.csize, true);
  v.setUint32(24, big[0] ? MAX32 : e.usize, true);
  v.setUint16(28, e.nameBytes.length, true);
  v.setUint16(30, times.length + zlen, true);
  const isDir = (e.mode & 0o170000) === 0o040000;
  v.setUint32(38, ((e.mode << 16) | (isDir ? 0x10 : 0)) >>> 0, true);
  v.setUint32(42, big[2] ? MAX32 : e.offset, true);
  b.set(e.nameBytes, CENTRAL_SIZE);
  b.set(times, CENTRAL_SIZE + e.nameBytes.length);
  if (z) {
    let at = CENTRAL_SIZE + e.nameBytes.length + times.length;
    v.setUint16(at, 0x0001, true);
    v.setUint16(at + 2, 8 * z, true);
    at += 4;
    for (const [i, value] of [e.usize, e.csize, e.offset].entries()) {
      if (!big[i]) continue;
      v.setBigUint64(at, BigInt(value), true);
      at += 8;
    }
  }
  return b;
}

/**
 * The end records after a directory: ZIP64 ones when the counts or offsets need them.
 *
 * @param entries How many entries.
 * @param cdOffset Where the directory starts.
 * @param cdSize Its length.
 * @returns The bytes to write right after the directory.
 */
export function endRecords(entries: number, cdOffset: number, cdSize: number): Uint8Array {
  const zip64 = entries >= MAX16 || cdOffset >= MAX32 || cdSize >= MAX32;
  const b = new Uint8Array((zip64 ? ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE : 0) + EOCD_SIZE);
  const v = view(b);
  let p = 0;
  if (zip64) {
    v.setUint32(0, SIG_ZIP64_EOCD, true);
    v.setBigUint64(4, BigInt(ZIP64_EOCD_SIZE - 12), true);
    v.setUint16(12, (3 << 8) | 63, true);
    v.setUint16(14, 45, true);
    v.setBigUint64(24, BigInt(entries), true);
    v.setBigUint64(32, BigInt(entries), true);
    v.setBigUint64(40, BigInt(cdSize), true);
    v.setBigUint64(48, BigInt(cdOffset), true);
    v.setUint32(56, SIG_ZIP64_LOCATOR, true);
    v.setBigUint64(64, BigInt(cdOffset + cdSize), true);
    v.setUint32(72, 1, true);
    p = ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE;
  }
  v.setUint32(p, SIG_EOCD, true);
  v.setUint16(p + 8, Math.min(entries, MAX16), true);
  v.setUint16(p + 10, Math.min(entries, MAX16), true);
  v.setUint32(p + 12, Math.min(cdSize, MAX32), true);
  v.setUint32(p + 16, Math.min(cdOffset, MAX32), true);
  return b;
}

/** CRC-32 of 0, 1, 2 and 3 zero bytes. */
const ZERO_CRC = [0, 0xd202ef8d, 0x41d912ff, 0xff41d912];

/**
 * Local headers that fill a hole (the bytes of an entry no longer in the directory) so that a
 * reader going from local header to local header (a streaming reader) skips it: nameless,
 * empty, stored entries whose extra field spans the hole (as Android's zipflinger does).
 *
 * @param length The hole's length (at least 30 bytes).
 * @returns The bytes to write over the hole.
 */
export function fillHole(length: number): Uint8Array {
  const b = new Uint8Array(length);
  const v = view(b);
  let p = 0;
  while (p < length) {
    let n = Math.min(length - p, LOCAL_SIZE + 0xffff);
    // Never leave a remainder too small for a header of its own.
    if (length - p - n > 0 && length - p - n < LOCAL_SIZE) n -= LOCAL_SIZE;
    v.setUint32(p, SIG_LOCAL, true);
    v.setUint16(p + 4, 10, true);
    const rest = n - LOCAL_SIZE;
    if (rest >= 4) {
      // One padding block (id 0xD935, as zipalign uses) in the extra field spans the rest.
      v.setUint16(p + 28, rest, true);
      v.setUint16(p + LOCAL_SIZE, 0xd935, true);
      v.setUint16(p + LOCAL_SIZE + 2, rest - 4, true);
    } else if (rest > 0) {
      // Too short for a block: 1–3 zero bytes of stored content, with their CRC.
      v.setUint32(p + 14, ZERO_CRC[rest]!, true);
      v.setUint32(p + 18, rest, true);
      v.setUint32(p + 22, rest, true);
    }
    p += n;
  }
  return b;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
