import assert from "node:assert/strict";
import type { Entry, Listing } from "../../lib/backends/backend.ts";
import { foldNames } from "../../lib/plan/case_names.ts";

const f = (key: string): Entry => ({ key, kind: "file", size: 1, mtime: 1 });
const d = (key: string): Entry => ({ key, kind: "dir", size: 0, mtime: 0 });
const listing = (...entries: Entry[]): Listing => ({ entries, problems: [], skipped: [] });
const keys = (l: Listing) => l.entries.map((e) => e.key);

Deno.test("foldNames: names spelt one way everywhere are left as they are, the same objects", () => {
  const a = listing(d("Docs"), f("Docs/A.txt"));
  const b = listing(d("Docs"), f("Docs/A.txt"));
  const before = [a.entries, b.entries];
  assert.equal(foldNames([a, b], [false, true], "b"), 0);
  assert.equal(a.entries, before[0]);
  assert.equal(b.entries, before[1]);
  // No member folds case: nothing is looked at at all.
  const c = listing(f("README"), f("readme"));
  assert.equal(foldNames([c], [false], "x"), 0);
  assert.deepEqual(keys(c), ["README", "readme"]);
});

Deno.test("foldNames: a folding member's names take the spelling of the members that tell case apart, a folder at a time", () => {
  const linux = listing(d("Docs"), f("Docs/Report.txt"));
  const stick = listing(d("DOCS"), f("DOCS/report.txt"), f("DOCS/new.txt"));
  assert.equal(foldNames([linux, stick], [false, true], "stick"), 0);
  assert.deepEqual(keys(stick), ["Docs", "Docs/Report.txt", "Docs/new.txt"]);
  assert.deepEqual(keys(linux), ["Docs", "Docs/Report.txt"]);
  // Two folding members: the smallest spelling in code-point order, the same on every run.
  const x = listing(f("readme.md"));
  const y = listing(f("README.md"));
  foldNames([x, y], [true, true], "both");
  assert.deepEqual([keys(x), keys(y)], [["README.md"], ["README.md"]]);
});

Deno.test("foldNames: twins in a member that tells case apart: one is kept, the others reported once at their topmost differing name", () => {
  const linux = listing(
    d("Docs"),
    f("Docs/a.txt"),
    d("docs"),
    f("docs/b.txt"),
    f("docs/c.txt"),
    f("README"),
    f("Readme"),
  );
  const stick = listing();
  assert.equal(foldNames([linux, stick], [false, true], '"E:"'), 2);
  assert.deepEqual(keys(linux), ["Docs", "Docs/a.txt", "README"]);
  assert.deepEqual(linux.problems.map((p) => p.key), ["docs", "Readme"]);
  assert.match(
    linux.problems[0]!.message,
    /^differs only by case from "Docs", and "E:" cannot tell/,
  );
});

Deno.test("foldNames: two members that tell case apart and spell a name differently: the smaller spelling is kept, the other reported where it is", () => {
  const a = listing(f("README.txt"));
  const c = listing(f("readme.txt"));
  const b = listing(f("Readme.txt"));
  assert.equal(foldNames([a, b, c], [false, true, false], "b"), 1);
  assert.deepEqual([keys(a), keys(b), keys(c)], [["README.txt"], ["README.txt"], []]);
  assert.deepEqual(c.problems.map((p) => p.key), ["readme.txt"]);
});
