/**
 * The CLI side of `ferry trash list|restore|purge`: the location opened, the library's trash
 * functions called, their results printed as lines or JSON.
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";
import { ExitCode, LocationError } from "../errors.ts";
import { restoreFromTrash } from "../trash/restore.ts";
import { listTrash, matchingTrash, purgeTrash, type TrashItem } from "../trash/trash.ts";
import type { TrashArgs } from "./args.ts";
import { formatBytes } from "./output.ts";

const enc = new TextEncoder();

/**
 * Run one of the trash commands.
 *
 * @param a Parsed arguments.
 * @param open Makes a location's backend from its text (checked, not yet opened).
 * @returns The exit code.
 * @throws {UsageError} For a location that is not there, nothing matching, an unknown time.
 * @throws {SafetyError} When a restore would replace a newer file without `--force`.
 */
export async function runTrash(
  a: TrashArgs,
  open: (text: string) => Promise<Backend>,
): Promise<number> {
  const say = (text: string) => {
    if (!a.json && !a.quiet) Deno.stdout.writeSync(enc.encode(text + "\n"));
  };
  const json = (obj: unknown) => {
    if (a.json) Deno.stdout.writeSync(enc.encode(JSON.stringify(obj) + "\n"));
  };
  const opened: Backend[] = [];
  const openAt = async (text: string, mode: "read" | "write") => {
    const b = await open(text);
    opened.push(b);
    if (!(await b.open(mode)).exists) {
      throw new LocationError(`Cannot open location "${text}": it does not exist`);
    }
    return b;
  };
  try {
    const b = await openAt(a.location, a.command === "trash list" ? "read" : "write");
    switch (a.command) {
      case "trash list": {
        const items = await listTrash(b);
        const shown = a.glob === undefined ? items : await matchingTrash(items, a.glob);
        for (const i of shown) {
          json({
            event: "trash",
            time: runIso(i),
            run: i.run,
            path: i.path,
            size: i.size,
            why: i.why,
          });
          say(`${runIso(i)}  ${i.why.padEnd(11)}  ${formatBytes(i.size).padStart(9)}  ${i.path}`);
        }
        if (shown.length === 0) say(`Nothing in the trash of ${b.display}`);
        return ExitCode.ok;
      }
      case "trash restore": {
        const to = a.to !== undefined ? await openAt(a.to, "write") : undefined;
        const done = await restoreFromTrash(b, a.path, {
          ...(a.from !== undefined ? { from: a.from } : {}),
          ...(to ? { to } : {}),
          force: a.force,
        });
        for (const r of done) {
          json({ event: "restore", ...r });
          say(
            `Restored ${r.path} (kept ${r.run})${
              r.replaced ? `; the file it replaced is in the trash as ${r.replaced}` : ""
            }`,
          );
        }
        return ExitCode.ok;
      }
      default: {
        // Without --older-than every run goes, this one's time included.
        const before = a.olderThan === undefined ? Date.now() + 1 : Date.now() - a.olderThan;
        const r = await purgeTrash(b, before);
        json({ event: "purge", files: r.files, bytes: r.bytes, runs: r.runs });
        say(
          `Purged ${r.files} file(s) (${formatBytes(r.bytes)}) of ${r.runs} run(s) from the trash`,
        );
        return ExitCode.ok;
      }
    }
  } finally {
    for (const b of opened) {
      b.endPass?.();
      await b.close().catch(() => {});
    }
  }
}

/** A run's time as ISO 8601 (its folder name uses `-` for `:`). */
function runIso(i: TrashItem): string {
  return new Date(i.time).toISOString();
}
