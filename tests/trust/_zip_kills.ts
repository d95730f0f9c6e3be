/**
 * ZIP updates against other readers: `ferry sync <folder> zip:m.zip --delete` updating an
 * archive (edits, new files, deletions, a rename, now and then a large edit that makes the
 * archive compact itself), killed with SIGKILL at random instants; right after each kill the
 * archive is handed, untouched, to Info-ZIP's `unzip -t`, `7z t`, `bsdtar -tf` and Python's
 * `zipfile`, then opened by ferry (which repairs a kill inside a commit) and every entry must
 * hold a version its source had. And a Python reader that opens the archive in a loop while
 * updates run, counting the tries that find no archive it can read.
 *
 * Used by `zip_kills_test.ts` (a few kills, small archive) and `scripts/zip_kills.ts` (50 kills,
 * 3,000 entries, as in the issue).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ZipBackend } from "../../lib/backends/zip/zip.ts";
import { besideArchive, PACK_TAG } from "../../lib/backends/zip/names.ts";
import { ferryArgs, listFiles } from "../cli/_run.ts";
import { seededRandom } from "../_random.ts";

const hash = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

const have = (tool: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] }).outputSync().success;

/** An oracle: a tool that must accept the archive as it is on disk. */
interface Oracle {
  name: string;
  tool: string;
  args: (zip: string) => string[];
  ok: (code: number, out: string) => boolean;
}

const PY_TEST =
  "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nbad = z.testzip()\nprint(bad or '')\nsys.exit(1 if bad else 0)";

const ORACLES: Oracle[] = [
  { name: "unzip -t", tool: "unzip", args: (z) => ["-tq", z], ok: (c) => c === 0 },
  {
    name: "7z t",
    tool: "7z",
    args: (z) => ["t", z],
    ok: (c, out) => c === 0 && /Everything is Ok/.test(out),
  },
  { name: "bsdtar -tf", tool: "bsdtar", args: (z) => ["-tf", z], ok: (c) => c === 0 },
  { name: "python3 zipfile", tool: "python3", args: (z) => ["-c", PY_TEST, z], ok: (c) => c === 0 },
];

/** The oracles present here, and why any other is skipped. */
export function oracles(): { present: Oracle[]; skipped: string[] } {
  const present = ORACLES.filter((o) => have(o.tool));
  const skipped = ORACLES.filter((o) => !present.includes(o)).map((o) =>
    `${o.name}: "${o.tool}" is not installed`
  );
  return { present, skipped };
}

/** Run every oracle present on the archive; the names of those that reject it, with why. */
export async function rejections(zip: string, present: Oracle[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(present.map(async (o) => {
    const r = await new Deno.Command(o.tool, {
      args: o.args(zip),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const text = dec.decode(r.stdout) + dec.decode(r.stderr);
    if (!o.ok(r.code, text)) out.set(o.name, text.trim().split("\n").slice(-3).join(" | "));
  }));
  return out;
}

/** A source folder, and every version each path has had in it. */
class Source {
  readonly versions = new Map<string, Set<string>>();
  readonly files = new Set<string>();
  #v = 0;
  constructor(readonly root: string, readonly rnd: () => number) {}

  /** Content: half compressible text, half random bytes. */
  content(size: number): Uint8Array {
    const v = ++this.#v;
    if (this.rnd() < 0.5) {
      const line = new TextEncoder().encode(`version ${v} of a line of text, ${this.rnd()}\n`);
      const b = new Uint8Array(size);
      for (let i = 0; i < size; i += line.length) b.set(line.subarray(0, size - i), i);
      return b;
    }
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) {
      crypto.getRandomValues(b.subarray(i, Math.min(size, i + 65536)));
    }
    return b;
  }

  put(rel: string, data: Uint8Array): void {
    const p = join(this.root, ...rel.split("/"));
    Deno.mkdirSync(join(p, ".."), { recursive: true });
    Deno.writeFileSync(p, data);
    if (!this.versions.has(rel)) this.versions.set(rel, new Set());
    this.versions.get(rel)!.add(hash(data));
    this.files.add(rel);
  }

  remove(rel: string): void {
    Deno.removeSync(join(this.root, ...rel.split("/")));
    this.files.delete(rel);
  }

  rename(from: string, to: string): void {
    const data = Deno.readFileSync(join(this.root, ...from.split("/")));
    const p = join(this.root, ...to.split("/"));
    Deno.mkdirSync(join(p, ".."), { recursive: true });
    Deno.renameSync(join(this.root, ...from.split("/")), p);
    if (!this.versions.has(to)) this.versions.set(to, new Set());
    this.versions.get(to)!.add(hash(data));
    this.files.delete(from);
    this.files.add(to);
  }

  pick(): string {
    const all = [...this.files].filter((f) => !f.startsWith("big/"));
    return all[Math.floor(this.rnd() * all.length)]!;
  }
}

/** What a run did, and when (seconds since the epoch, as Python's `time.time()`). */
interface Ran {
  code: number;
  /** When it began to write (seconds after its start; -1: never seen). */
  writing: number;
  killed: boolean;
  start: number;
  end: number;
  err: string;
}

/**
 * Run ferry; with `kill`, SIGKILL it that long (a share of `tail` seconds) after it starts
 * writing: after the first sign of an update beside the archive (its pack or its journal).
 */
async function runFerry(
  args: string[],
  zip?: string,
  kill?: { share: number; tail: number },
): Promise<Ran> {
  const start = Date.now() / 1000;
  const child = new Deno.Command(Deno.execPath(), {
    args: ferryArgs(args),
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let killed = false;
  let writing = -1;
  let done = false;
  const signs = zip ? [`${zip}${PACK_TAG}${child.pid}`, besideArchive(zip, "journal")] : [];
  const watching = (async () => {
    while (!done && zip) {
      if (writing < 0 && signs.some(exists)) {
        writing = Date.now() / 1000 - start;
        if (!kill) return;
        await new Promise((r) => setTimeout(r, kill.share * kill.tail * 1000));
        if (done) return;
        try {
          child.kill("SIGKILL");
          killed = true;
        } catch { /* ended just now */ }
        return;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  const err = new Response(child.stderr).text();
  const status = await child.status;
  done = true;
  await watching;
  return {
    code: status.code,
    killed: killed && status.signal === "SIGKILL",
    start,
    end: Date.now() / 1000,
    writing,
    err: await err,
  };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A Python process that opens the archive with `zipfile` in a loop until told to stop, writing
 * one line a try: the time and 1 (read) or 0 (not a ZIP archive it can read). It sleeps 1 ms
 * between tries, so that tries sample time evenly (a failing open is 20 times quicker than one
 * that reads a directory of 300 entries: without the pause the failures are over-counted).
 */
function startReader(zip: string, dir: string): { stop(): Promise<[number, boolean][]> } {
  const stopFile = join(dir, "reader.stop");
  const out = join(dir, "reader.log");
  const code = [
    "import os, sys, time, zipfile",
    "p, stop, out = sys.argv[1:4]",
    "f = open(out, 'w')",
    "while not os.path.exists(stop):",
    "    t = time.time()",
    "    try:",
    "        with zipfile.ZipFile(p) as z: z.namelist()",
    "        ok = 1",
    "    except Exception:",
    "        ok = 0",
    "    f.write(f'{t:.6f} {ok}\\n')",
    "    time.sleep(0.001)",
    "f.close()",
  ].join("\n");
  const child = new Deno.Command("python3", {
    args: ["-c", code, zip, stopFile, out],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  return {
    async stop() {
      Deno.writeTextFileSync(stopFile, "");
      await child.status;
      return Deno.readTextFileSync(out).split("\n").filter((l) => l).map((l) => {
        const [t, ok] = l.split(" ");
        return [Number(t), ok === "1"] as [number, boolean];
      });
    },
  };
}

/**
 * Tries of the reader that fell while ferry ran, how many of them failed, and the share of that
 * time in which the archive could not be read (each try stands for the time until the next).
 */
function during(tries: [number, boolean][], runs: Ran[]): ReaderFigures {
  let n = 0;
  let failed = 0;
  let time = 0;
  let bad = 0;
  for (const [i, [t, ok]] of tries.entries()) {
    if (!runs.some((r) => t >= r.start && t <= r.end)) continue;
    n++;
    const span = (tries[i + 1]?.[0] ?? t) - t;
    time += span;
    if (!ok) failed++, bad += span;
  }
  return { tries: n, failed, badTime: time > 0 ? bad / time : 0 };
}

/** What the reader saw while ferry ran. */
export interface ReaderFigures {
  tries: number;
  failed: number;
  /** The share of the time in which it could not read the archive. */
  badTime: number;
}

/** Options of {@linkcode killTrial}. */
export interface KillOptions {
  kills: number;
  files: number;
  /** Files edited before each run. */
  edits: number;
  seed: number;
  /** With a Python reader opening the archive in a loop meanwhile. */
  reader: boolean;
  log: (line: string) => void;
}

/** What a kill trial found. */
export interface KillReport {
  runs: number;
  kills: number;
  /** Per oracle: the kills after which it rejected the archive. */
  rejected: Map<string, number>;
  /** Kills after which at least one oracle rejected the archive. */
  anyRejected: number;
  skipped: string[];
  /** Entries holding content their source never had, or lost. */
  wrong: string[];
  /** Runs that ended by themselves having compacted the archive (the last one among them). */
  compactions: number;
  reader?: ReaderFigures;
  /** The last run's exit, whether the archive then equals the source, and leftovers. */
  lastCode: number;
  converged: boolean;
  leftovers: string[];
  firstRejections: string[];
}

/** Open the archive as ferry does (repairing a kill inside a commit) and hash every file. */
async function contents(zip: string): Promise<Map<string, string>> {
  const z = new ZipBackend(zip);
  const out = new Map<string, string>();
  try {
    if (!(await z.open()).exists) return out;
    for (const e of (await z.list()).entries) {
      if (e.kind !== "file") continue;
      out.set(e.key, hash(new Uint8Array(await new Response(await z.read(e.key)).arrayBuffer())));
    }
  } finally {
    await z.close();
  }
  return out;
}

/**
 * Kill updates of an archive at random instants and look at it right after each kill.
 *
 * @param o The trial's size and seed.
 * @returns What was found.
 */
export async function killTrial(o: KillOptions): Promise<KillReport> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-zip-kills-" });
  try {
    const rnd = seededRandom(o.seed);
    const src = new Source(join(dir, "src"), rnd);
    const zip = join(dir, "m.zip");
    for (let i = 0; i < o.files; i++) {
      src.put(`d${i % 30}/f${i}.${i % 2 ? "txt" : "bin"}`, src.content(1000 + (i * 37) % 5000));
    }
    src.put("big/a.bin", src.content(Math.max(1 << 20, o.files * 3000)));
    const args = ["sync", src.root, `zip:${zip}`, "--delete", "--force", "--yes"];
    args.push("--state", join(dir, "state.db"));
    const first = await runFerry(args);
    if (first.code !== 0) throw new Error(`first copy failed: ${first.err}`);
    const { present, skipped } = oracles();
    const report: KillReport = {
      runs: 0,
      kills: 0,
      rejected: new Map(),
      anyRejected: 0,
      skipped,
      wrong: [],
      compactions: 0,
      lastCode: -1,
      converged: false,
      leftovers: [],
      firstRejections: [],
    };
    const reader = o.reader && have("python3") ? startReader(zip, dir) : undefined;
    const runs: Ran[] = [];
    /**
     * How long an update goes on once it begins to write (learnt from the runs that end by
     * themselves): kills land at random instants of that time, as in the "kills during
     * updates".
     */
    let tail = 0;
    for (let i = 0; report.kills < o.kills && i < o.kills * 4; i++) {
      // The next update's work: edits, new files, deletions, a rename; every third round a
      // large edit that leaves enough dead space for the archive to be compacted.
      for (let e = 0; e < o.edits; e++) {
        const p = src.pick();
        src.put(p, src.content(1000 + Math.floor(rnd() * 5000)));
      }
      for (let e = 0; e < 3; e++) src.put(`new/${i}/${e}.txt`, src.content(2000));
      for (let e = 0; e < 2; e++) src.remove(src.pick());
      const from = src.pick();
      src.rename(from, `moved/${i}/${from.split("/").pop()}`);
      if (i % 3 === 0) src.put("big/a.bin", src.content(Math.max(1 << 20, o.files * 3000)));
      const before = await contents(zip);
      // The first run ends by itself, to learn how long an update writes.
      const kill = tail === 0 ? undefined : { share: rnd(), tail };
      const ino = Deno.statSync(zip).ino;
      const r = await runFerry(args, zip, kill);
      runs.push(r);
      report.runs++;
      if (!r.killed) {
        if (r.code !== 0) throw new Error(`an update failed (exit ${r.code}): ${r.err}`);
        const took = r.end - r.start - Math.max(0, r.writing);
        tail = tail === 0 ? took : 0.7 * tail + 0.3 * took;
        o.log(`run ${report.runs} ended by itself in ${Math.round((r.end - r.start) * 1000)} ms`);
        // Compacted: written beside and renamed over.
        if (Deno.statSync(zip).ino !== ino) report.compactions++;
        continue;
      }
      report.kills++;
      const no = await rejections(zip, present);
      if (no.size > 0) {
        report.anyRejected++;
        if (report.firstRejections.length < 3) {
          report.firstRejections.push(
            `kill ${report.kills} at ${Math.round(r.writing * 1000)} + ${
              Math.round(kill!.share * tail * 1000)
            } ms: ` +
              [...no].map(([k, v]) => `${k}: ${v}`).join("; "),
          );
        }
      }
      for (const name of no.keys()) report.rejected.set(name, (report.rejected.get(name) ?? 0) + 1);
      // Opened by ferry: every entry is a version its source had at that path, and nothing
      // the archive held that the source still has is gone.
      const after = await contents(zip);
      for (const [k, h] of after) {
        if (!src.versions.get(k)?.has(h)) report.wrong.push(`kill ${report.kills}: "${k}" changed`);
      }
      for (const k of before.keys()) {
        if (src.files.has(k) && !after.has(k)) {
          report.wrong.push(`kill ${report.kills}: "${k}" lost`);
        }
      }
      o.log(
        `kill ${report.kills} ${Math.round(kill!.share * tail * 1000)} ms into ~${
          Math.round(tail * 1000)
        }: ` +
          (no.size ? `rejected by ${[...no.keys()].join(", ")}` : "every oracle accepts it"),
      );
    }
    if (reader) report.reader = during(await reader.stop(), runs);
    // The last run ends by itself, with a large edit that makes it compact the archive. One
    // large edit is not always a quarter of the archive dead (the seed's new files and kept
    // versions may have grown it): until a compaction has run, each last run gets another,
    // a few times at most.
    let last: Ran | undefined;
    for (let more = 0; more < 4 && (last === undefined || report.compactions === 0); more++) {
      src.put("big/a.bin", src.content(Math.max(1 << 20, o.files * 3000)));
      const ino = Deno.statSync(zip).ino;
      last = await runFerry(args);
      if (last.code !== 0) break;
      if (Deno.statSync(zip).ino !== ino) report.compactions++;
    }
    report.lastCode = last!.code;
    const now = await contents(zip);
    report.converged = now.size === src.files.size &&
      [...src.files].every((f) =>
        now.get(f) === hash(Deno.readFileSync(join(src.root, ...f.split("/"))))
      ) && (await rejections(zip, present)).size === 0;
    report.leftovers = listFiles(dir).filter((f) =>
      f !== "m.zip" && !f.startsWith("src/") && !f.startsWith("state.db") &&
      !f.startsWith("reader.") && f !== ".m.zip.ferry-lock"
    );
    return report;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Updates run to their end while a Python reader opens the archive in a loop.
 *
 * @param o Files in the archive, edits per update, how many updates.
 * @returns The reader's tries that fell during the runs, and how many found no archive.
 */
export async function readerTrial(
  o: { files: number; edits: number; updates: number; seed: number },
): Promise<ReaderFigures> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-zip-reader-" });
  try {
    const rnd = seededRandom(o.seed);
    const src = new Source(join(dir, "src"), rnd);
    const zip = join(dir, "m.zip");
    for (let i = 0; i < o.files; i++) {
      src.put(`d${i % 30}/f${i}.txt`, src.content(1000 + (i * 37) % 5000));
    }
    const args = ["sync", src.root, `zip:${zip}`, "--delete", "--force", "--yes"];
    args.push("--state", join(dir, "state.db"));
    const first = await runFerry(args);
    if (first.code !== 0) throw new Error(`first copy failed: ${first.err}`);
    const reader = startReader(zip, dir);
    const runs: Ran[] = [];
    for (let i = 0; i < o.updates; i++) {
      for (let e = 0; e < o.edits; e++) src.put(src.pick(), src.content(1000 + rnd() * 5000));
      src.remove(src.pick());
      const r = await runFerry(args);
      if (r.code !== 0) throw new Error(`an update failed (exit ${r.code}): ${r.err}`);
      runs.push(r);
    }
    return during(await reader.stop(), runs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
