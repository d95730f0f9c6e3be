/**
 * The short names a mirror gives its locations in conflict copies
 * (`name.conflict-<time>-<label>.ext`).
 *
 * @module
 */

/** A location's place, taken apart: its kind, its host or bucket, the parts of its path. */
interface Place {
  kind: string;
  host: string;
  parts: string[];
}

/** Each component at most this long (a label stays a small part of a file name). */
const PART_MAX = 24;
/** A label at most this long: a deep path said whole keeps its start and its end. */
const LABEL_MAX = 64;

function clip(label: string): string {
  return label.length <= LABEL_MAX
    ? label
    : `${label.slice(0, 20)}-${label.slice(-(LABEL_MAX - 21))}`;
}

/** Letters, digits, `_` and `-` only: no dot (the copy's extension stays the file's own). */
function safe(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^[_-]+|[_-]+$/g, "").slice(0, PART_MAX);
}

function placeParts(place: string): Place {
  // Two letters at least: `C:` is a drive, not a kind.
  const m = /^([A-Za-z][A-Za-z0-9+.-]+):(\/\/)?/.exec(place);
  let kind = "";
  let host = "";
  let rest = place;
  if (m) {
    kind = m[1]!.toLowerCase();
    rest = place.slice(m[0].length);
    // `kind://[user[:***]@]host[:port]/path`, or the older `ftp:user:***@host/path`.
    if (m[2] || /^[^/]*@/.test(rest)) {
      const slash = rest.indexOf("/");
      const authority = slash < 0 ? rest : rest.slice(0, slash);
      rest = slash < 0 ? "" : rest.slice(slash);
      host = authority.replace(/^.*@/, "");
    }
  }
  const parts = rest.split(/[\\/]+/).filter((p) =>
    p !== "" && p !== "." && p !== ".." &&
    !/^[A-Za-z]:$/.test(p)
  ).map(safe).filter(Boolean);
  return { kind: safe(kind), host: safe(host), parts };
}

/**
 * The labels a place may have, shortest first: the last part of its path (or its host); then,
 * for a remote place, its kind and host or bucket before that (`ftp-nas_local-mirror`,
 * `s3-bucket-mirror`), for a folder or an archive the folder it is in (`stick-b_zip`); then its
 * whole path.
 */
function candidates(place: string): string[] {
  const { kind, host, parts } = placeParts(place);
  const base = parts.at(-1) ?? (host || kind || "root");
  const join = (...xs: string[]) => clip(xs.filter(Boolean).join("-"));
  if (host) {
    const where = join(kind, host);
    return [
      base,
      parts.length > 0 ? join(where, base) : where,
      join(where, ...parts),
    ];
  }
  return [base, join(parts.at(-2) ?? kind, base), join(...parts) || base];
}

/**
 * A short, file-name-safe label of each location of a mirror, for its conflict copies: the
 * last part of its path (or its host, or its bucket). Where two locations would get labels
 * that are the same (or differ only by case: a case-folding location could not hold both
 * copies), each of them says more, until they differ: a remote location its kind and host or
 * bucket, a folder or an archive the folder it is in, then the whole path; a number is added
 * only where even the whole places give one label. Only `A-Z a-z 0-9 _ -`: safe in a name on
 * every kind of location, and no dot (the copy keeps the file's extension).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   locationLabels(["file:/home/me/Docs", "s3://bucket/work/", "zip:/media/stick/b.zip", "ftp://me:***@nas.local/"]),
 *   ["Docs", "work", "b_zip", "nas_local"],
 * );
 * assert.deepEqual(
 *   locationLabels(["ftp://me:***@nas.local/mirror", "s3://team/mirror", "file:/home/me/notes"]),
 *   ["ftp-nas_local-mirror", "s3-team-mirror", "notes"],
 * );
 * assert.deepEqual(locationLabels(["file:/a/x", "file:/b/x"]), ["a-x", "b-x"]);
 * assert.deepEqual(locationLabels(["file:/a/x/y", "file:/b/x/y"]), ["a-x-y", "b-x-y"]);
 * const deep = "/d".repeat(40);
 * assert.ok(locationLabels([`file:/a${deep}/y`, `file:/b${deep}/y`]).every((l) => l.length <= 64));
 * ```
 *
 * @param places Where each location is (a folder's absolute path, else its location as shown,
 *   password masked).
 * @returns One label each, no two alike (whatever their case).
 */
export function locationLabels(places: readonly string[]): string[] {
  const options = places.map(candidates);
  const level = places.map(() => 0);
  const labelAt = (i: number) => options[i]![level[i]!]!;
  for (let round = 0; round < 3; round++) {
    const count = new Map<string, number>();
    for (let i = 0; i < places.length; i++) {
      const k = labelAt(i).toLowerCase();
      count.set(k, (count.get(k) ?? 0) + 1);
    }
    const clash = places.map((_, i) => count.get(labelAt(i).toLowerCase())! > 1);
    if (!clash.some(Boolean)) break;
    clash.forEach((c, i) => {
      if (c && level[i]! < options[i]!.length - 1) level[i]!++;
    });
  }
  // Places that say the same however much they say (one folder named twice is refused before
  // this): numbered, in order.
  const seen = new Map<string, number>();
  return places.map((_, i) => {
    const label = labelAt(i);
    const n = (seen.get(label.toLowerCase()) ?? 0) + 1;
    seen.set(label.toLowerCase(), n);
    return n === 1 ? label : `${label}-${n}`;
  });
}
