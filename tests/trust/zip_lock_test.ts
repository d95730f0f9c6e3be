/**
 * Two runs on one archive: ferry holds a ZIP archive for the length of a pass, so a second run
 * (another job, another state) is refused with one line and exit 3 instead of writing its
 * directory over the first's or cutting back the first's live journal as a killed run's. Before,
 * two runs at once left an archive `unzip -t` refused, with one run's files lost.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { SafetyError } from "../../lib/errors.ts";
import { ferry, ferryArgs } from "../cli/_run.ts";

async function folder(dir: string, prefix: string, n: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    await Deno.writeFile(join(dir, `${prefix}${i}.bin`), new Uint8Array(20_000).fill(i & 255));
  }
}

async function names(archive: string): Promise<string[]> {
  const z = new ZipBackend(archive);
  try {
    await z.open();
    return (await z.list()).entries.filter((e) => e.kind === "file").map((e) => e.key).sort();
  } finally {
    await z.close();
  }
}

Deno.test("D21: an archive held by a pass refuses another run (exit 3, one line, nothing changed); the pass over, it is free again", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ziplock-" });
  try {
    const archive = join(dir, "backup.zip");
    await folder(join(dir, "a"), "a", 3);
    let r = await ferry(["sync", join(dir, "a"), `zip:${archive}`, "--state", join(dir, "a.db")]);
    assert.equal(r.code, 0, r.stderr);
    const before = await Deno.readFile(archive);

    const held = new ZipBackend(archive);
    assert.deepEqual(await held.open(), { exists: true });
    await folder(join(dir, "b"), "b", 3);
    for (
      const args of [
        ["sync", join(dir, "b"), `zip:${archive}`, "--state", join(dir, "b.db")],
        ["sync", `zip:${archive}`, join(dir, "out"), "--state", join(dir, "c.db")],
      ]
    ) {
      r = await ferry(args);
      assert.equal(r.code, 3, r.stderr);
      assert.match(
        r.stderr.trim(),
        /^ferry: error: "zip:.*backup\.zip" is in use by another ferry run: nothing was changed; run again when it is done$/,
      );
    }
    assert.deepEqual(await Deno.readFile(archive), before, "the archive is as it was");
    // In one process too: a second backend on it is refused while the pass holds it.
    await assert.rejects(new ZipBackend(archive).open(), SafetyError);

    // A mirror: the held archive sits the round out, the folders are mirrored.
    await Deno.mkdir(join(dir, "m"));
    r = await ferry([
      "mirror",
      join(dir, "b"),
      join(dir, "m"),
      `zip:${archive}`,
      "--state",
      join(dir, "m.db"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /in use by another ferry run.*sits this round out/);
    assert.ok(Deno.statSync(join(dir, "m", "b0.bin")).isFile);

    held.endPass();
    r = await ferry(["sync", join(dir, "b"), `zip:${archive}`, "--state", join(dir, "b.db")]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await names(archive), [
      "a0.bin",
      "a1.bin",
      "a2.bin",
      "b0.bin",
      "b1.bin",
      "b2.bin",
    ]);
    await held.close();
    // Nothing is left beside the archive: the lock file goes with the pass that held it.
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.includes("backup")),
      [
        "backup.zip",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("D21: a lock file a killed run left behind does not hold the archive", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ziplock-" });
  try {
    const archive = join(dir, "backup.zip");
    await folder(join(dir, "a"), "a", 2);
    await Deno.writeFile(join(dir, ".backup.zip.ferry-lock"), new Uint8Array());
    const r = await ferry(["sync", join(dir, "a"), `zip:${archive}`, "--state", join(dir, "a.db")]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await names(archive), ["a0.bin", "a1.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("D21: two runs into one archive at once: each is done whole or refused, and the archive passes unzip -t", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ferry-ziplock-" });
  try {
    const archive = join(dir, "both.zip");
    await folder(join(dir, "a"), "a", 300);
    await folder(join(dir, "b"), "b", 300);
    for (let round = 0; round < 3; round++) {
      await Deno.remove(archive).catch(() => {});
      const run = (side: string) =>
        new Deno.Command(Deno.execPath(), {
          args: ferryArgs([
            "sync",
            join(dir, side),
            `zip:${archive}`,
            "--state",
            join(dir, `${side}${round}.db`),
          ]),
          env: { NO_COLOR: "1" },
          stdout: "piped",
          stderr: "piped",
        }).output();
      const outs = await Promise.all([run("a"), run("b")]);
      const got = await names(archive);
      const t = await new Deno.Command("unzip", { args: ["-tq", archive] }).output();
      assert.ok(t.success, `unzip -t: ${new TextDecoder().decode(t.stdout)}`);
      for (const [i, side] of ["a", "b"].entries()) {
        const o = outs[i]!;
        const err = new TextDecoder().decode(o.stderr);
        const mine = got.filter((n) => n.startsWith(side));
        if (o.code === 0) assert.equal(mine.length, 300, `run ${side} said done: ${err}`);
        else {
          assert.equal(o.code, 3, err);
          assert.match(err, /is in use by another ferry run/);
          assert.equal(mine.length, 0, `run ${side} was refused and wrote nothing`);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
