/**
 * Which of ferry's own files inside a folder of the job are left out of it, as patterns, on
 * every platform (also run under the Windows build of Deno); the runs themselves are in
 * `own_files_cli_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ownFileExcludes } from "../../lib/cli/own_files.ts";
import { loadFilter } from "../../lib/scan/filter.ts";

Deno.test("own files: the patterns name an archive, the state and the log inside a folder of the job, and nothing outside it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-own-" });
  try {
    const src = join(dir, "src");
    await Deno.mkdir(join(src, "sub"), { recursive: true });
    // The folder named through a symbolic link, where one can be made (not under Wine).
    let folder = src;
    try {
      await Deno.symlink(src, join(dir, "link"));
      if (Deno.lstatSync(join(dir, "link")).isSymlink) folder = join(dir, "link");
    } catch { /* no symbolic links here */ }
    const archive = join(src, "sub", "b [1]#.zip");
    const locs = [
      { kind: "local", path: folder, text: "folder" },
      { kind: "zip", path: archive, text: "zip:b" },
      { kind: "zip", path: join(dir, "outside.zip"), text: "zip:outside" },
    ] as const;
    const patterns = ownFileExcludes(locs, {
      state: join(src, "st.db"),
      log: join(src, "run.log"),
    });
    const skip = (await loadFilter(patterns))!;
    for (
      const key of [
        "sub/b [1]#.zip",
        "sub/b [1]#.zip.ferry-new-123",
        "sub/b [1]#.zip.ferry-compact-9",
        "sub/b [1]#.zip.ferry-pack-77",
        "sub/.b [1]#.zip.ferry-journal",
        "sub/.b [1]#.zip.ferry-lock",
        "st.db",
        "st.db-wal",
        "st.db-shm",
        "st.db.lock",
        "archive_restore_needed.log",
        "run.log",
      ]
    ) assert.ok(skip(key, false), `${key} is left out`);
    for (const key of ["sub/b 1#.zip", "b [1]#.zip", "sub/b [1]#.zip.txt", "outside.zip", "x.db"]) {
      assert.ok(!skip(key, false), `${key} is synced`);
    }
    // Outside every folder of the job, or in its .ferry folder (never walked): no pattern at all.
    assert.deepEqual(
      ownFileExcludes([{ kind: "local", path: src, text: "src" }], {
        state: join(src, ".ferry", "state.db"),
        log: join(dir, "run.log"),
      }),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
