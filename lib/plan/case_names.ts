/**
 * Names that differ only by case, where a location of the job does not tell them apart (a FAT
 * stick, a Windows or macOS folder). There, `README.txt` and `Readme.txt` are one file: both
 * copied in, the second overwrites the first; and a mirror that matched names exactly took the
 * one it could not see there for deleted, and deleted it everywhere.
 *
 * One spelling of each name is chosen, a path component at a time: the smallest in code-point
 * order among the locations that do tell case apart, else among the others. Listings of the
 * locations that fold case are rewritten to it (the same files, named as elsewhere); in a
 * location that tells case apart, a name spelt otherwise is reported by name (its topmost
 * differing folder, or the file), taken out of its listing, and so neither judged nor touched,
 * on every run until it is renamed.
 *
 * @module
 */
import type { Listing } from "../backends/backend.ts";

const fold = (k: string) => k.toLowerCase();

/**
 * Make the listings of one job agree on the case of each name.
 *
 * @param listings One listing per location, changed in place.
 * @param insensitive Per location: whether it folds case.
 * @param where The locations that fold case, as the message names them.
 * @param folds Whether a location of the job folds case (by default, whether one of these
 *   does; a one-way job passes its source's listing alone, into a destination that folds).
 * @returns How many names were reported.
 * @example A FAT stick beside a Linux folder that holds two spellings
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Listing } from "../backends/backend.ts";
 * const f = (key: string) => ({ key, kind: "file" as const, size: 1, mtime: 1 });
 * const linux: Listing = { entries: [f("README.txt"), f("Readme.txt")], problems: [], skipped: [] };
 * const stick: Listing = { entries: [f("readme.txt")], problems: [], skipped: [] };
 * assert.equal(foldNames([linux, stick], [false, true], '"E:"'), 1);
 * assert.deepEqual(linux.entries.map((e) => e.key), ["README.txt"]);
 * assert.deepEqual(stick.entries.map((e) => e.key), ["README.txt"]);
 * assert.deepEqual(linux.problems.map((p) => p.key), ["Readme.txt"]);
 * ```
 */
export function foldNames(
  listings: Listing[],
  insensitive: readonly boolean[],
  where: string,
  folds = insensitive.some((x) => x),
): number {
  if (!folds) return 0;
  // Most jobs spell every name one way everywhere: one look at each key says so.
  const first = new Map<string, string>();
  let differ = false;
  for (const l of listings) {
    for (const e of l.entries) {
      const k = fold(e.key);
      const seen = first.get(k);
      if (seen === undefined) first.set(k, e.key);
      else if (seen !== e.key) differ = true;
    }
  }
  if (!differ) return 0;

  // The candidates for each folded path: the spellings of its last component, from locations
  // that tell case apart and from the others.
  const best = new Map<string, { strict?: string; loose?: string }>();
  for (const [i, l] of listings.entries()) {
    const strict = !insensitive[i];
    for (const e of l.entries) {
      const parts = e.key.split("/");
      let prefix = "";
      for (const p of parts) {
        prefix = prefix === "" ? fold(p) : `${prefix}/${fold(p)}`;
        const b = best.get(prefix) ?? {};
        if (strict) {
          if (b.strict === undefined || p < b.strict) b.strict = p;
        } else if (b.loose === undefined || p < b.loose) b.loose = p;
        best.set(prefix, b);
      }
    }
  }
  const canon = new Map<string, string>();
  const canonical = (folded: string): string => {
    let c = canon.get(folded);
    if (c !== undefined) return c;
    const slash = folded.lastIndexOf("/");
    const b = best.get(folded)!;
    const name = b.strict ?? b.loose!;
    c = slash < 0 ? name : `${canonical(folded.slice(0, slash))}/${name}`;
    canon.set(folded, c);
    return c;
  };

  let reported = 0;
  for (const [i, l] of listings.entries()) {
    if (insensitive[i]) {
      l.entries = l.entries.map((e) => {
        const c = canonical(fold(e.key));
        return c === e.key ? e : { ...e, key: c };
      });
      continue;
    }
    // Each reported name, and the spelling kept instead.
    const problems = new Map<string, string>();
    l.entries = l.entries.filter((e) => {
      const c = canonical(fold(e.key));
      if (c === e.key) return true;
      // Reported at the first component spelt otherwise: below it, everything is covered.
      const mine = e.key.split("/");
      const theirs = c.split("/");
      let n = 0;
      while (mine[n] === theirs[n]) n++;
      problems.set(mine.slice(0, n + 1).join("/"), theirs.slice(0, n + 1).join("/"));
      return false;
    });
    for (const [key, other] of problems) {
      l.problems.push({
        key,
        message: `differs only by case from "${other}", and ${where} cannot tell such names ` +
          "apart: only one of them is kept in step; rename one",
      });
      reported++;
    }
  }
  return reported;
}
