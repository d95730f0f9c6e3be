import assert from "node:assert/strict";
import {
  checkKey,
  isTempName,
  isWithin,
  matchKey,
  parentKey,
  tempName,
  windowsNameProblem,
} from "../lib/paths.ts";

Deno.test("checkKey() accepts relative keys and returns them in NFC", () => {
  for (const ok of ["a", "a/b.txt", ".hidden", "..two-dots", "a/...", "a b/ c", "x.", "ü/日本"]) {
    assert.equal(checkKey(ok), ok);
  }
  assert.equal(checkKey("cafe\u0301"), "caf\u00e9");
  assert.equal(checkKey(""), "");
});

Deno.test("checkKey() refuses every way out of the root", () => {
  for (
    const bad of [
      "/etc/passwd",
      "..",
      "../x",
      "a/..",
      "a/../b",
      ".",
      "./a",
      "a/./b",
      "a//b",
      "a/",
      "C:/Windows",
      "c:x",
      "a\\..\\b",
      "nul\0byte",
    ]
  ) {
    assert.throws(() => checkKey(bad), RangeError, bad);
  }
});

Deno.test("key helpers: parentKey(), isWithin(), matchKey(), temp names", () => {
  assert.equal(parentKey("a/b/c"), "a/b");
  assert.equal(parentKey("a"), "");
  assert.ok(isWithin("a/b", "a") && isWithin("a", "a") && isWithin("x", ""));
  assert.ok(!isWithin("ab", "a"));
  assert.equal(matchKey("ReadMe", true), "readme");
  assert.equal(matchKey("ReadMe", false), "ReadMe");
  const t = tempName();
  assert.ok(isTempName(t) && t.length < 40 && t !== tempName());
  // Names come from a pool of random bytes refilled every 1,024 names: across refills, every
  // name is new and has 12 hex digits of randomness.
  const names = Array.from({ length: 5000 }, () => tempName());
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.match(n, /^\.ferry-tmp-[0-9a-z]+-[0-9a-f]{12}$/);
});

Deno.test("windowsNameProblem() refuses device names, trailing dots and spaces, and forbidden characters", () => {
  for (
    const ok of ["a.txt", "docs/report 2026.pdf", "CONSOLE.txt", "auxiliary", "com10", "x.y.z"]
  ) {
    assert.equal(windowsNameProblem(ok), undefined, ok);
  }
  const refused: [string, RegExp][] = [
    ["CON", /reserves/],
    ["docs/aux.txt", /reserves/],
    ["Nul.tar.gz", /reserves/],
    ["COM1", /reserves/],
    ["lpt9.log", /reserves/],
    ["notes./a.txt", /dot or a space/],
    ["trailing ", /dot or a space/],
    ["a:b.txt", /refuses/],
    ["what?.txt", /refuses/],
    ['say "hi".txt', /refuses/],
    ["tab\there", /refuses/],
  ];
  for (const [key, why] of refused) assert.match(windowsNameProblem(key) ?? "", why, key);
});
