/**
 * FTP directory listings in the three shapes servers send: MLSD facts (RFC 3659, exact UTC
 * times), Unix `ls -l` lines (with a year, or with a time and no year) and DOS/IIS lines. Each
 * line becomes a name, a kind, a size, a time and how precise that time is; a listing's own
 * text of the time is kept as well, because ferry compares it for equality to tell whether a
 * file is the version it wrote (see `ftp.ts`).
 *
 * @module
 */

/** One line of a listing. */
export interface ListedItem {
  name: string;
  kind: "file" | "dir" | "link" | "other";
  size: number;
  /** Modification time in ms since the epoch, read as UTC (LIST times are in the server's zone). */
  time: number;
  /** How precise `time` is, in ms: 1,000 for MLSD, 60,000 for `Nov 26 17:38`, a day for a date. */
  precision: number;
  /** The time as the server wrote it: changes whenever the server's time for the file does. */
  raw: string;
  /** Where LIST says so (`x -> y`), the link's target. */
  target?: string;
  /** MLSD's `unique` fact (an inode number on Unix servers), where given. */
  unique?: string;
}

const MONTHS: Record<string, number> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

const MINUTE = 60_000;
const DAY = 86_400_000;

/**
 * Parse a whole listing, whichever of the three shapes each line has; `.` and `..` and lines
 * that are no entry (`total 12`, blank) are left out.
 *
 * @param text The listing as the data connection delivered it.
 * @param now The time to place year-less Unix dates by (ms): they lie in the six months before.
 * @param unparsed Collects the lines of no known shape (a folder whose listing is not fully
 *   understood must not look like one without those files).
 * @returns The entries, in the server's order.
 * @example Unix, MLSD and DOS lines
 * ```ts
 * import assert from "node:assert/strict";
 * const now = Date.UTC(2026, 10, 26);
 * const [a, b, c] = parseListing(
 *   "-rw-r--r--  1 me users  5 Nov 20 17:38 a b.txt\r\n" +
 *     "type=dir;modify=20250102030405; docs\r\n" +
 *     "01-05-25  01:34PM       <DIR>          old\r\n",
 *   now,
 * );
 * assert.deepEqual([a!.name, a!.size, a!.time, a!.precision], ["a b.txt", 5, Date.UTC(2026, 10, 20, 17, 38), 60_000]);
 * assert.deepEqual([b!.name, b!.kind, b!.time], ["docs", "dir", Date.UTC(2025, 0, 2, 3, 4, 5)]);
 * assert.deepEqual([c!.name, c!.kind, c!.time], ["old", "dir", Date.UTC(2025, 0, 5, 13, 34)]);
 * ```
 */
export function parseListing(
  text: string,
  now = Date.now(),
  unparsed: string[] = [],
): ListedItem[] {
  const out: ListedItem[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "" || /^total\s+\d+/i.test(line)) continue;
    if (/^[^ ]*(?:^|;)type=[cp]dir;/i.test(line)) continue; // MLSD's own "." and ".."
    const item = parseMlsdLine(line) ?? parseUnixLine(line, now) ?? parseDosLine(line);
    if (!item) unparsed.push(line);
    else if (item.name !== "." && item.name !== "..") out.push(item);
  }
  return out;
}

/**
 * One MLSD (or MLST) line: `fact=value;fact=value; name`.
 *
 * @param line The line (a leading space, as MLST sends, is allowed).
 * @returns The entry, or undefined when the line has no facts.
 */
export function parseMlsdLine(line: string): ListedItem | undefined {
  const body = line.startsWith(" ") ? line.slice(1) : line;
  const sp = body.indexOf("; ");
  if (sp < 0 || !/^[A-Za-z.]+=/.test(body)) return undefined;
  const facts = new Map<string, string>();
  for (const f of body.slice(0, sp).split(";")) {
    const eq = f.indexOf("=");
    if (eq > 0) facts.set(f.slice(0, eq).toLowerCase(), f.slice(eq + 1));
  }
  const name = body.slice(sp + 2);
  const type = (facts.get("type") ?? "").toLowerCase();
  if (type === "cdir" || type === "pdir") return undefined;
  const kind = type === "file"
    ? "file"
    : type === "dir"
    ? "dir"
    : type.startsWith("os.unix=slink") || type === "os.unix=symlink"
    ? "link"
    : "other";
  const modify = facts.get("modify") ?? "";
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d{1,3}))?/.exec(modify);
  const time = m
    ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? +m[7].padEnd(3, "0") : 0)
    : 0;
  const item: ListedItem = {
    name,
    kind,
    size: Number(facts.get("size") ?? facts.get("sizd") ?? 0) || 0,
    time,
    precision: m?.[7] ? 1 : 1000,
    raw: modify,
  };
  const unique = facts.get("unique");
  if (unique) item.unique = unique;
  return item;
}

// `-rw-r--r-- 1 owner group 1234 Nov 26 17:38 name`; the group (or owner) may be missing,
// and some servers write ISO dates (`2025-01-05 12:34`).
const UNIX_LINE =
  /^([-dlbcps])[-rwxsStTlL+.@]{9}[+.@]?\s+(?:\S+\s+){1,3}?(\d+)\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}:\d\d|\d{4}) (.*)$/;
const UNIX_ISO =
  /^([-dlbcps])[-rwxsStTlL+.@]{9}[+.@]?\s+(?:\S+\s+){1,3}?(\d+)\s+(\d{4})-(\d\d)-(\d\d)\s+(\d\d):(\d\d) (.*)$/;

/**
 * One Unix `ls -l` line.
 *
 * @param line The line.
 * @param now The time to place year-less dates by (ms).
 * @returns The entry, or undefined when the line is not of this shape.
 */
export function parseUnixLine(line: string, now = Date.now()): ListedItem | undefined {
  let type: string, size: number, time: number, precision: number, raw: string, rest: string;
  const m = UNIX_LINE.exec(line);
  if (m) {
    const month = MONTHS[m[3]!.toLowerCase()];
    if (month === undefined) return undefined;
    const day = +m[4]!;
    type = m[1]!;
    size = Number(m[2]);
    rest = m[6]!;
    raw = `${m[3]} ${m[4]} ${m[5]}`;
    if (m[5]!.includes(":")) {
      const [h, min] = m[5]!.split(":").map(Number) as [number, number];
      // No year: the date lies within the six months before the server's "now" (a day of
      // slack for clocks and zones), so it is this year or last.
      const year = new Date(now).getUTCFullYear();
      time = Date.UTC(year, month, day, h, min);
      if (time > now + DAY) time = Date.UTC(year - 1, month, day, h, min);
      precision = MINUTE;
    } else {
      time = Date.UTC(+m[5]!, month, day);
      precision = DAY;
    }
  } else {
    const i = UNIX_ISO.exec(line);
    if (!i) return undefined;
    type = i[1]!;
    size = Number(i[2]);
    time = Date.UTC(+i[3]!, +i[4]! - 1, +i[5]!, +i[6]!, +i[7]!);
    precision = MINUTE;
    raw = `${i[3]}-${i[4]}-${i[5]} ${i[6]}:${i[7]}`;
    rest = i[8]!;
  }
  const kind = type === "-" ? "file" : type === "d" ? "dir" : type === "l" ? "link" : "other";
  const item: ListedItem = { name: rest, kind, size, time, precision, raw };
  if (kind === "link") {
    const arrow = rest.indexOf(" -> ");
    if (arrow >= 0) {
      item.name = rest.slice(0, arrow);
      item.target = rest.slice(arrow + 4);
    }
  }
  return item;
}

const DOS_LINE =
  /^(\d\d)-(\d\d)-(\d\d(?:\d\d)?)\s+(\d\d):(\d\d)\s*([AaPp][Mm])?\s+(<DIR>|\d+)\s+(.*)$/;

/**
 * One DOS/IIS line: `01-05-25  01:34PM  <DIR>  name` or `01-05-2025  13:34  1234 name`.
 *
 * @param line The line.
 * @returns The entry, or undefined when the line is not of this shape.
 */
export function parseDosLine(line: string): ListedItem | undefined {
  const m = DOS_LINE.exec(line);
  if (!m) return undefined;
  let year = +m[3]!;
  if (m[3]!.length === 2) year += year < 70 ? 2000 : 1900;
  let hour = +m[4]!;
  const ampm = m[6]?.toUpperCase();
  if (ampm === "PM" && hour < 12) hour += 12;
  if (ampm === "AM" && hour === 12) hour = 0;
  const dir = m[7] === "<DIR>";
  return {
    name: m[8]!,
    kind: dir ? "dir" : "file",
    size: dir ? 0 : Number(m[7]),
    time: Date.UTC(year, +m[1]! - 1, +m[2]!, hour, +m[5]!),
    precision: MINUTE,
    raw: `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}${m[6] ?? ""}`,
  };
}
