/**
 * A ZIP update killed at any instant leaves an archive every other tool opens, and a reader
 * that opens it in a loop during updates almost never finds it unreadable: the update's new
 * entries are packed beside the archive while the pass runs, and only the commit's append
 * (one write) leaves it without an end record. The long version (50 kills, 3,000 entries) is
 * `scripts/zip_kills.ts`.
 *
 * `FERRY_ZIP_KILLS` sets the kills (10 by default), `FERRY_ZIP_SEED` replays a seed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { killTrial, readerTrial } from "./_zip_kills.ts";

const KILLS = Number(Deno.env.get("FERRY_ZIP_KILLS") ?? "10");
const seed = () => Number(Deno.env.get("FERRY_ZIP_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const python = new Deno.Command("sh", { args: ["-c", "command -v python3"] }).outputSync().success;

Deno.test("ZIP update killed at random instants: right after each kill unzip -t, 7z t, bsdtar and Python's zipfile accept the archive; each entry is its old or new version; converges", async () => {
  const s = seed();
  const r = await killTrial({
    kills: KILLS,
    files: 300,
    edits: 10,
    seed: s,
    reader: false,
    log: () => {},
  });
  for (const why of r.skipped) console.log(`zip kills: oracle skipped, ${why}`);
  console.log(
    `zip kills: seed ${s}, ${r.runs} updates, ${r.kills} killed, ${r.compactions} compacted`,
  );
  assert.equal(r.kills, KILLS, `seed ${s}: only ${r.kills} kills landed`);
  assert.deepEqual(r.firstRejections, [], `seed ${s}: an oracle rejected the archive after a kill`);
  assert.equal(r.anyRejected, 0);
  assert.deepEqual(r.wrong, [], `seed ${s}`);
  assert.equal(r.lastCode, 0, `seed ${s}: the last run failed`);
  assert.ok(r.converged, `seed ${s}: the archive differs from the source at the end`);
  assert.ok(r.compactions >= 1, `seed ${s}: no compaction ran`);
  assert.deepEqual(r.leftovers, [], `seed ${s}: files left beside the archive`);
});

Deno.test({
  name: "ZIP updates under a reader that opens the archive in a loop: under 1% of its tries fail",
  ignore: !python,
  async fn() {
    const s = seed();
    const r = await readerTrial({ files: 1000, edits: 20, updates: 6, seed: s });
    const pct = (100 * r.failed) / Math.max(1, r.tries);
    console.log(
      `zip reader: seed ${s}, ${r.failed} of ${r.tries} opens failed (${pct.toFixed(2)} %), ` +
        `unreadable ${(100 * r.badTime).toFixed(2)} % of the time`,
    );
    assert.ok(r.tries >= 50, `only ${r.tries} tries fell during the updates`);
    assert.ok(pct < 1, `seed ${s}: ${r.failed} of ${r.tries} opens failed`);
  },
});
