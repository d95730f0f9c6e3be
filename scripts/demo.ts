/**
 * `deno task demo`: make a small sample folder with awkward names and sync it, twice, then mirror
 * the replica with a third folder both ways (an edit on each side kept as a conflict copy), so a
 * new user sees ferry work end to end. Everything lands in ./sample (ignored by git).
 *
 * @module
 */
import { join } from "node:path";
import { main } from "../lib/cli/main.ts";

const root = join(Deno.cwd(), "sample");
const src = join(root, "source");
const dst = join(root, "replica");
await Deno.remove(root, { recursive: true }).catch(() => {});
const files: Record<string, string> = {
  "notes.txt": "ferry keeps folders in step.\n",
  "photos/2024/beach day.jpg": "not really a JPEG\n",
  "photos/2024/ünïcödé 日本.txt": "names in any script\n",
  "reports/q1.csv": "month,total\njan,1\n",
};
for (const [rel, text] of Object.entries(files)) {
  const p = join(src, ...rel.split("/"));
  await Deno.mkdir(join(p, ".."), { recursive: true });
  await Deno.writeTextFile(p, text);
}
// The mirror's state goes to the platform's state folder, outside the locations; the demo's to
// ./sample, like everything else it makes (and a second demo starts afresh).
Deno.env.set("XDG_STATE_HOME", join(root, "state"));
const say = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(`\n$ ${s}\n`));

say(`ferry sync sample/source sample/replica -v`);
let code = await main(["sync", src, dst, "-v"]);
if (code !== 0) Deno.exit(code);

await Deno.rename(join(src, "photos"), join(src, "pictures"));
await Deno.remove(join(src, "reports", "q1.csv"));
say(`mv sample/source/photos sample/source/pictures; rm sample/source/reports/q1.csv`);
say(`ferry sync sample/source sample/replica --delete --yes -v`);
code = await main(["sync", src, dst, "--delete", "--yes", "-v", "--max-delete", "100%"]);
if (code !== 0) Deno.exit(code);

say(`ferry status sample/source sample/replica --delete`);
code = await main(["status", src, dst, "--delete"]);
if (code !== 0) Deno.exit(code);

// Both ways: the replica and a laptop folder kept identical; an edit on each side is a conflict
// whose loser is kept beside the winner.
const laptop = join(root, "laptop");
say(`ferry mirror sample/replica sample/laptop`);
code = await main(["mirror", dst, laptop]);
if (code !== 0) Deno.exit(code);
const edit = async (dir: string, text: string, secondsAgo: number) => {
  const p = join(dir, "notes.txt");
  await Deno.writeTextFile(p, text);
  const t = new Date(Date.now() - secondsAgo * 1000);
  await Deno.utime(p, t, t);
};
await edit(dst, "edited on the replica\n", 60);
await edit(laptop, "edited on the laptop, later\n", 0);
say(`(notes.txt edited in both) ferry mirror sample/replica sample/laptop -v`);
code = await main(["mirror", dst, laptop, "-v"]);
say(`ls sample/laptop`);
for (const e of [...Deno.readDirSync(laptop)].map((e) => e.name).sort()) {
  if (e !== ".ferry") Deno.stdout.writeSync(new TextEncoder().encode(`${e}\n`));
}
Deno.exit(code);
