import assert from "node:assert/strict";
import { join } from "node:path";
import { type RawTree, walkTrees } from "../../lib/backends/local/walk.ts";
import { findTree, findUsable, parse } from "../../lib/backends/local/find_walk.ts";
import { loadFilter } from "../../lib/scan/filter.ts";
import { tempName } from "../../lib/paths.ts";
import { skipUnless } from "../_skips.ts";

const linux = Deno.build.os === "linux";

/** Everything a walk says of a tree, keyed by path, so walks in different orders compare. */
function summary(t: RawTree) {
  const entries = new Map<string, number[]>();
  t.paths.forEach((p, i) =>
    entries.set(p, [t.dirs[i]!, t.sizes[i]!, t.mtimes[i]!, t.inos[i]!, t.devs[i]!, t.modes[i]!])
  );
  assert.equal(entries.size, t.paths.length, "no path is listed twice");
  const byKey = <T extends { key: string }>(xs: T[]) =>
    [...xs].sort((a, b) => a.key < b.key ? -1 : 1);
  return {
    entries,
    problems: byKey(t.problems),
    skipped: byKey(t.skipped),
    temps: byKey(t.temps),
  };
}

function assertParentsFirst(t: RawTree): void {
  const seen = new Set<string>();
  for (const p of t.paths) {
    const parent = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
    assert.ok(parent === "" || seen.has(parent), `${p} listed before its folder`);
    seen.add(p);
  }
}

/** Run `fn` on a fresh temp folder, removed afterwards whatever happens. */
async function inTempDir(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "ferry-find-" });
  try {
    await fn(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function sh(script: string, cwd: string): Promise<void> {
  const r = await new Deno.Command("sh", { args: ["-c", script], cwd, stderr: "piped" }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

/** A tree with every kind of entry and name the walkers treat specially. */
async function awkwardTree(root: string): Promise<void> {
  const put = async (rel: string, text = rel) => {
    await Deno.mkdir(join(root, rel, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, rel), text);
  };
  await put("plain.txt");
  await put("with space/and more.txt");
  await put("new\nline.txt");
  await put("caf\u0065\u0301/nfd.txt"); // decomposed é
  await put("ünïcödé/ü.txt");
  await put(`${"deep/".repeat(30)}bottom.txt`);
  await put("cache/big.bin", "x".repeat(5000)); // excluded folder
  await put("cache/keep.txt"); // a pattern cannot take it back: its folder is not walked
  await put("logs/run.log"); // excluded by pattern
  await put("logs/keep.txt");
  await put(".ferry/state.db"); // ferry's own folder at the root: never listed
  await put("sub/.ferry/state.db"); // and at any depth (another job's state): never listed
  await put(tempName()); // a temp file of an interrupted run
  await put(`sub/${tempName()}/inside.txt`); // a temp-named folder: not walked into
  await put("setuid");
  await Deno.chmod(join(root, "setuid"), 0o4755);
  await put("exec.sh");
  await Deno.chmod(join(root, "exec.sh"), 0o750);
  await Deno.mkdir(join(root, "empty"));
  await put("sub-ms.txt");
  // A time with more than milliseconds in it: both walkers must cut it the same way.
  await Deno.utime(join(root, "sub-ms.txt"), 1_700_000_000.9999, 1_700_000_000.9999);
  await Deno.symlink("with space", join(root, "link-to-folder"));
  await Deno.symlink("nowhere", join(root, "dangling"));
  await sh("mkfifo fifo", root);
}

Deno.test({
  name: "find and the built-in walker list the same entries with the same fields",
  ignore: skipUnless(linux, import.meta.url, "Linux only (GNU find)"),
  fn: () =>
    inTempDir(async (root) => {
      await awkwardTree(root);
      const exclude = ["cache/", "*.log", "!cache/keep.txt"];
      const viaFind = await findTree(root, await loadFilter(exclude));
      assert.ok(viaFind, "GNU find walked the tree");
      const [builtin] = await walkTrees([root], exclude, { builtin: true });
      assert.deepEqual(summary(viaFind), summary(builtin!));
      // And walkTrees uses it by default here.
      const [walked] = await walkTrees([root], exclude);
      assert.deepEqual(summary(walked!), summary(builtin!));
      assertParentsFirst(viaFind);

      const s = summary(viaFind);
      assert.ok(s.entries.has("new\nline.txt"));
      assert.ok(s.entries.has("caf\u0065\u0301/nfd.txt"), "the name as it is on disk");
      assert.ok(s.entries.has("sub/") || s.entries.has("sub"), "its folder is listed");
      assert.ok(![...s.entries.keys()].some((k) => k.includes(".ferry")), "no .ferry anywhere");
      assert.ok(!s.entries.has("cache") && !s.entries.has("cache/big.bin"));
      assert.ok(!s.entries.has("cache/keep.txt"));
      assert.ok(!s.entries.has("logs/run.log") && s.entries.has("logs/keep.txt"));
      assert.ok(![...s.entries.keys()].some((k) => k.startsWith(".ferry")));
      assert.equal(s.entries.get("sub-ms.txt")![2], 1_700_000_000_999);
      assert.equal(s.entries.get("setuid")![5]! & 0o7777, 0o4755);
      assert.deepEqual(s.skipped.map((x) => x.key), ["dangling", "fifo", "link-to-folder"]);
      assert.equal(s.temps.length, 2);
      assert.ok(![...s.entries.keys()].some((k) => k.endsWith("inside.txt")));
    }),
});

Deno.test({
  name: "a tree walked beside an empty one is cut in two for find, and lists the same",
  ignore: skipUnless(linux, import.meta.url, "Linux only (GNU find)"),
  fn: () =>
    inTempDir(async (root) => {
      const full = join(root, "full");
      const empty = join(root, "empty");
      await awkwardTree(full);
      await Deno.mkdir(join(empty, ".ferry"), { recursive: true }); // ferry's folder only
      const exclude = ["cache/", "*.log"];
      const [a, b] = await walkTrees([full, empty], exclude);
      const [ref] = await walkTrees([full], exclude, { builtin: true });
      assert.deepEqual(summary(a!), summary(ref!));
      assertParentsFirst(a!);
      assert.deepEqual(b!.paths, []);
    }),
});

Deno.test({
  name: "what find cannot list faithfully is walked by the built-in walker instead",
  ignore: skipUnless(linux, import.meta.url, "Linux only (GNU find)"),
  fn: () =>
    inTempDir(async (root) => {
      await Deno.writeTextFile(join(root, "ok.txt"), "ok");
      assert.ok(await findTree(root, undefined), "a plain tree is walked by find");

      // A time before 1970 (find prints it in a form that is not cut like Deno's).
      await Deno.writeTextFile(join(root, "old.txt"), "old");
      await Deno.utime(join(root, "old.txt"), -5.25, -5.25);
      assert.equal(await findTree(root, undefined), undefined);
      let [t] = await walkTrees([root], []);
      assert.equal(t!.mtimes[t!.paths.indexOf("old.txt")], -5250);
      await Deno.remove(join(root, "old.txt"));

      // A name that is not UTF-8: no Deno call can open it, so it fails (it is not backed up).
      await sh("touch 'bad'$(printf '\\377')'name'", root);
      assert.equal(await findTree(root, undefined), undefined);
      [t] = await walkTrees([root], []);
      assert.deepEqual(t!.paths, ["ok.txt"]);
      assert.deepEqual(t!.skipped, []);
      assert.equal(t!.problems.length, 1);
      assert.match(t!.problems[0]!.message, /not UTF-8/);
    }),
});

Deno.test("parse() reads find's records and refuses anything else without hanging", () => {
  const rec = (s: string) => s + "\0";
  const t = parse(
    rec("d 4096 1700000000.5000000000 7 2049 755 ./a") +
      rec("f 12 1700000001.1239999999 8 2049 644 ./a/b c\nd") +
      rec("l 3 1700000002.0000000000 9 2049 777 ./a/link"),
    undefined,
  )!;
  assert.deepEqual(t.paths, ["a", "a/b c\nd"]);
  assert.deepEqual([...t.sizes], [0, 12]);
  assert.deepEqual([...t.mtimes], [1_700_000_000_500, 1_700_000_001_123]);
  assert.deepEqual([...t.inos], [7, 8]);
  assert.deepEqual([...t.modes], [0o40755, 0o100644]);
  assert.deepEqual(t.skipped, [{ key: "a/link", reason: "symbolic link (not followed)" }]);
  assert.deepEqual(parse("", undefined)?.paths, []);
  for (
    const bad of [
      "f 12 1700000000", // cut short
      "f 12 1700000000.1234567890 8 2049 644 ./a", // no terminator
      "f 1x 1700000000.1234567890 8 2049 644 ./a\0",
      "f 12 -5.7500000000 8 2049 644 ./a\0", // before 1970
      "f 12 1700000000 8 2049 644 ./a\0", // no fraction
      "f 12 1700000000.1234567890 8 2049 689 ./a\0", // not octal
      "ff 12 1700000000.1234567890 8 2049 644 ./a\0",
      "f  1700000000.1234567890 8 2049 644 ./a\0",
      "f 12 1700000000.1234567890 8 2049 644 ./\0", // no name
      "f 12 1700000000.1234567890 8 2049 644 a\0", // not as found below "."
    ]
  ) {
    assert.equal(parse(bad, undefined), undefined, JSON.stringify(bad));
  }
});

Deno.test("FERRY_WALKER=builtin turns find off", () => {
  const before = Deno.env.get("FERRY_WALKER");
  Deno.env.set("FERRY_WALKER", "builtin");
  try {
    assert.equal(findUsable(), false);
  } finally {
    if (before === undefined) Deno.env.delete("FERRY_WALKER");
    else Deno.env.set("FERRY_WALKER", before);
  }
  if (linux) assert.equal(findUsable(), true);
});
