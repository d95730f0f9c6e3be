/**
 * Interrupts and prompts (trust defects D7 and D12): SIGTERM stops a local copy of large files
 * within about a second, leaving whole files or none; a periodic run on a terminal never
 * waits at a prompt; Ctrl-C at the delete prompt ends the run at once; a key's escape sequence
 * typed at the mirror's prompt is no location.
 *
 * @module
 */
import assert from "node:assert/strict";
import { until } from "../_until.ts";
import { join } from "node:path";
import { ferryArgs, onTerminal, scratch } from "../cli/_run.ts";
import { skipUnless } from "../_skips.ts";

const FERRY = [Deno.execPath(), ...ferryArgs([])];

/** Wait for a condition, polling, with a deadline. */

function names(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch {
    return [];
  }
}

Deno.test("D7: SIGTERM during a local copy of large files stops it within about a second, exit 130, nothing torn", async () => {
  const s = await scratch({});
  try {
    const block = new Uint8Array(64 << 20).map((_, i) => i & 255);
    for (let i = 0; i < 8; i++) await Deno.writeFile(join(s.src, `big${i}.bin`), block);
    const child = new Deno.Command(FERRY[0]!, {
      args: [...FERRY.slice(1), "sync", s.src, s.dst, "-q"],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Copying is under way once a temporary file shows in the destination.
    await until("the copy to start", () => names(s.dst).some((n) => n.startsWith(".ferry-tmp-")));
    const sent = performance.now();
    child.kill("SIGTERM");
    const out = await child.output();
    const took = performance.now() - sent;
    assert.equal(out.code, 130, new TextDecoder().decode(out.stderr));
    // "Within about a second": a margin for a machine busy with other test files.
    assert.ok(took < 2000, `stopped after ${took.toFixed(0)} ms`);
    console.log(`SIGTERM to exit: ${took.toFixed(0)} ms`);
    const left = names(s.dst);
    assert.ok(left.length < 8, "the copy was really cut short");
    assert.deepEqual(left.filter((n) => n.startsWith(".ferry-tmp-")), [], "no temporary file left");
    for (const n of left) {
      if (n === ".ferry") continue; // ferry's own folder (the location's marker)
      assert.deepEqual(Deno.statSync(join(s.dst, n)).size, block.length, `${n} is whole`);
    }
  } finally {
    await s.cleanup();
  }
});

const hasScript = (await new Deno.Command("sh", { args: ["-c", "command -v script"] }).output())
  .success;

Deno.test({
  name: "D12: --delete --interval on a terminal never waits at a prompt; Ctrl-C ends it with 130",
  ignore: skipUnless(hasScript, import.meta.url, "script (util-linux) is not installed"),
  fn: async () => {
    const s = await scratch({ "a.txt": "a" });
    try {
      await Deno.mkdir(s.dst);
      await Deno.writeTextFile(join(s.dst, "extra.txt"), "x");
      for (let i = 0; i < 4; i++) {
        await Deno.writeTextFile(join(s.dst, `keep${i}.txt`), "x");
        await Deno.writeTextFile(join(s.src, `keep${i}.txt`), "x");
      }
      const t = onTerminal(["sync", s.src, s.dst, "--delete", "--interval", "1"]);
      try {
        await until("the deletion", () => !names(s.dst).includes("extra.txt"), 30_000);
      } catch (err) {
        t.child.kill("SIGKILL");
        await t.done();
        throw new Error(`${err}: ${t.screen()}`);
      }
      // A later pass deletes too, again without asking.
      await Deno.writeTextFile(join(s.dst, "later.txt"), "x");
      await until("the later deletion", () => !names(s.dst).includes("later.txt"));
      assert.doesNotMatch(t.screen(), /\[y\/N\]/);
      await t.type("\x03");
      assert.equal(await t.done(), 130);
    } finally {
      await s.cleanup();
    }
  },
});

Deno.test({
  name: "D7: one Ctrl-C at the delete prompt ends the run at once, nothing deleted",
  ignore: skipUnless(hasScript, import.meta.url, "script (util-linux) is not installed"),
  fn: async () => {
    const s = await scratch({ "a.txt": "a" });
    try {
      await Deno.mkdir(s.dst);
      await Deno.writeTextFile(join(s.dst, "extra.txt"), "x");
      const t = onTerminal(["sync", s.src, s.dst, "--delete", "--force"]);
      await until("the prompt", () => /\[y\/N\]/.test(t.screen()));
      const sent = performance.now();
      await t.type("\x03");
      const code = await t.done();
      assert.equal(code, 130, t.screen());
      assert.ok(performance.now() - sent < 3000);
      assert.ok(names(s.dst).includes("extra.txt"), "nothing deleted");
    } finally {
      await s.cleanup();
    }
  },
});

Deno.test({
  name:
    "the mirror prompt refuses a key's escape sequence (End, an arrow) or a control character, and asks again",
  ignore: skipUnless(hasScript, import.meta.url, "script (util-linux) is not installed"),
}, async () => {
  // An End key typed at the prompt became a folder named `ESC[4~`, made and filled.
  const dir = await Deno.makeTempDir({ prefix: "ferry-prompt-" });
  try {
    const p = join(dir, "p");
    Deno.mkdirSync(p);
    Deno.writeTextFileSync(join(p, "p.txt"), "p");
    const t = onTerminal(["mirror", "--state", join(dir, "s.db")], dir);
    const asked = (n: number) => t.screen().split(`Location ${n} `).length - 1;
    const refused = () => t.screen().split("type the location again").length - 1;
    await until("asked for location 1", () => asked(1) === 1);
    for (const [i, keys] of ["\x1b[4~", "\x1b[A", `${p}\x1b[D`, "\x01x"].entries()) {
      await t.type(keys + "\r");
      await until(`refusal ${i + 1}`, () => refused() === i + 1 && asked(1) === i + 2);
    }
    assert.match(t.screen(), /not a location: the line holds a control character or a key's/);
    await t.type(p + "\r");
    await until("asked for location 2", () => asked(2) === 1);
    await t.type("ftp://u:SeCrEt123@\r");
    await until("the bad location refused", () => refused() === 5 && asked(2) === 2);
    assert.match(t.screen(), /"ftp:\/\/u:\*\*\*@" has no valid host; type the location again/);
    await t.type(join(dir, "q") + "\r");
    await until("asked for location 3", () => asked(3) === 1);
    await t.type("end\r");
    assert.equal(await t.done(), 0, t.screen());
    assert.deepEqual(names(join(dir, "q")).filter((n) => n !== ".ferry"), ["p.txt"]);
    const made = names(dir).filter((n) => !["p", "q"].includes(n) && !n.startsWith("s.db"));
    assert.deepEqual(made, [], "no folder named after a key");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
