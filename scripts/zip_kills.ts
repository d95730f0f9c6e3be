/**
 * The long version of the ZIP kill test (`tests/trust/zip_kills_test.ts`), as in the issue: an
 * archive of 3,000 entries, 40 files edited before each update (with new files, deletions and a
 * rename), 50 updates killed with SIGKILL at random instants, and every oracle (`unzip -t`,
 * `7z t`, `bsdtar -tf`, Python's `zipfile`) run on the archive right after each kill; a Python
 * reader opens the archive in a loop meanwhile. Then 20 updates run to their end under the
 * reader. Prints the figures; not part of the test suite (a few minutes).
 *
 * `deno run -A scripts/zip_kills.ts [--kills 50] [--files 3000] [--edits 40] [--seed N]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { killTrial, readerTrial } from "../tests/trust/_zip_kills.ts";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "50" },
    files: { type: "string", default: "3000" },
    edits: { type: "string", default: "40" },
    updates: { type: "string", default: "20" },
    seed: { type: "string" },
    quiet: { type: "boolean", default: false },
  },
});
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
const files = Number(values.files);
const edits = Number(values.edits);
console.log(`seed ${seed}, ${files} entries, ${edits} edits an update`);
const t0 = performance.now();
const r = await killTrial({
  kills: Number(values.kills),
  files,
  edits,
  seed,
  reader: true,
  log: values.quiet ? () => {} : (line) => console.log(line),
});
console.log(`\n${r.runs} updates, ${r.kills} killed, ${r.compactions} compactions seen`);
for (const s of r.skipped) console.log(`skipped ${s}`);
console.log(`kills after which some oracle rejected the archive: ${r.anyRejected} of ${r.kills}`);
for (const [name, n] of r.rejected) console.log(`  ${name}: ${n}`);
for (const l of r.firstRejections) console.log(`  e.g. ${l}`);
if (r.reader) {
  const pct = (100 * r.reader.failed / Math.max(1, r.reader.tries)).toFixed(2);
  console.log(
    `reader during the (killed) updates: ${r.reader.failed} of ${r.reader.tries} opens failed (${pct} %), ` +
      `unreadable ${(100 * r.reader.badTime).toFixed(2)} % of the time`,
  );
}
console.log(`entries wrong or lost after ferry's next open: ${r.wrong.length}`);
for (const w of r.wrong.slice(0, 5)) console.log(`  ${w}`);
console.log(
  `last run: exit ${r.lastCode}, ${r.converged ? "archive equals the source" : "ARCHIVE DIFFERS"}` +
    (r.leftovers.length ? `, left: ${r.leftovers.join(", ")}` : ", nothing left beside it"),
);
const rd = await readerTrial({ files, edits, updates: Number(values.updates), seed });
console.log(
  `reader during ${values.updates} whole updates: ${rd.failed} of ${rd.tries} opens failed (${
    (100 * rd.failed / Math.max(1, rd.tries)).toFixed(2)
  } %), unreadable ${(100 * rd.badTime).toFixed(2)} % of the time`,
);
console.log(`${((performance.now() - t0) / 1000).toFixed(0)} s`);
