/**
 * `deno task bench`, ZIP part: a folder of 10,000 small files (1–6 KB, half text, half
 * incompressible bytes) into a new archive, against
 * Info-ZIP `zip -r`; then one file changed and the archive brought up to date, against
 * `zip -u` (which writes a new archive beside the old one and renames it). Both run in the
 * same place, interleaved, medians of 3. Reported: seconds, ratios, and how many bytes ferry's
 * update wrote (its archive grows by the changed entry and a new directory, nothing else).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { V8_OPTION } from "./build.ts";
import { median, say, table, timed } from "./_bench_tools.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));

/**
 * How many bytes of the archive an update changed: those that differ from before, and those
 * past its old end (a byte rewritten with its own value is not counted).
 */
function changedBytes(before: Uint8Array, after: Uint8Array): number {
  const n = Math.min(before.length, after.length);
  let changed = after.length - n;
  for (let i = 0; i < n; i++) if (before[i] !== after[i]) changed++;
  return changed;
}

/**
 * @param files How many small files.
 * @param base Where to work (a memory file system when there is one).
 */
export async function benchZip(files = 10_000, base?: string): Promise<void> {
  const have = (t: string) =>
    new Deno.Command("sh", { args: ["-c", `command -v ${t}`] }).outputSync().success;
  if (!have("zip")) {
    say("bench zip: Info-ZIP zip (Debian package zip) is needed for the peer figures");
    return;
  }
  const work = await Deno.makeTempDir({
    prefix: "ferry-bench-zip-",
    ...(base ? { dir: base } : {}),
  });
  try {
    const src = join(work, "src");
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod".split(
      " ",
    );
    let bytes = 0;
    for (let i = 0; i < files; i++) {
      const dir = join(src, `d${Math.floor(i / 500)}`, `s${Math.floor(i / 50) % 10}`);
      if (i % 50 === 0) Deno.mkdirSync(dir, { recursive: true });
      // 1–6 KB each: every other file text that compresses (as documents do), the others bytes
      // that do not (as photos and archives do not).
      const n = 1000 + Math.floor(rnd() * 5000);
      if (i % 2 === 0) {
        let text = "";
        while (text.length < n) text += words[Math.floor(rnd() * words.length)] + " ";
        Deno.writeTextFileSync(join(dir, `f${i}.txt`), text.slice(0, n));
      } else {
        const b = new Uint8Array(n);
        for (let j = 0; j < n; j++) b[j] = Math.floor(rnd() * 256);
        Deno.writeFileSync(join(dir, `f${i}.bin`), b);
      }
      bytes += n;
    }
    say(`\n== local -> ZIP: ${files} files, ${(bytes / 1e6).toFixed(1)} MB, in ${work}`);
    const ferry = (...a: string[]) => [Deno.execPath(), "run", "-A", V8_OPTION, CLI, ...a];
    const state = join(work, "state.db");
    const fInit: number[] = [];
    const zInit: number[] = [];
    const fUpd: number[] = [];
    const zUpd: number[] = [];
    const fWrote: number[] = [];
    let size = 0;
    for (let round = 0; round < 3; round++) {
      const fz = join(work, `ferry-${round}.zip`);
      const iz = join(work, `infozip-${round}.zip`);
      await Deno.remove(state).catch(() => {});
      fInit.push((await timed(ferry("sync", src, `zip:${fz}`, "--state", state))).seconds);
      zInit.push((await timed(["sh", "-c", `cd '${src}' && zip -qr '${iz}' .`])).seconds);
      size = Deno.statSync(fz).size;
      // One file changed (another size, another time), then each tool brings its archive up to
      // date.
      const changed = join(src, "d3", "s4", `f${1500 + 40 + 2 * round}.txt`);
      Deno.writeTextFileSync(changed, `changed in round ${round} `.repeat(100));
      const before = Deno.readFileSync(fz);
      fUpd.push((await timed(ferry("sync", src, `zip:${fz}`, "--state", state))).seconds);
      fWrote.push(changedBytes(before, Deno.readFileSync(fz)));
      zUpd.push((await timed(["sh", "-c", `cd '${src}' && zip -qur '${iz}' .`])).seconds);
    }
    const rows = [
      [
        `new archive of ${files} files (median of 3)`,
        median(fInit).toFixed(3),
        median(zInit).toFixed(3),
        (median(fInit) / median(zInit)).toFixed(2),
      ],
      [
        "one file changed, archive updated",
        median(fUpd).toFixed(3),
        median(zUpd).toFixed(3),
        (median(fUpd) / median(zUpd)).toFixed(2),
      ],
    ];
    for (const l of table(["seconds", "ferry", "zip -r / -u", "ferry/zip"], rows)) say(l);
    const wrote = median(fWrote);
    say(
      `update: ferry changed ${wrote} B of a ${size} B archive (${
        (100 * wrote / size).toFixed(2)
      }%): the new entry, a new directory and end record, the old entry's hole`,
    );
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await benchZip();
