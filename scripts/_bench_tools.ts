/**
 * What the benchmark scripts share: timing a command with its peak memory, finding a peer
 * tool, printing a table, a tree of small files.
 *
 * @module
 */
import { join } from "node:path";

/** A timed run. */
export interface Timed {
  seconds: number;
  peakMB: number;
  out: string;
}

/**
 * Run a command, timing it and sampling its peak resident memory (VmHWM). Earlier writes are
 * flushed first (`sync`), so that no run pays for another's write-back.
 *
 * @param cmd The command and its arguments.
 * @param env Extra environment variables.
 * @returns Seconds, peak MB and what it printed.
 * @throws {Error} When the command fails.
 */
export async function timed(cmd: string[], env: Record<string, string> = {}): Promise<Timed> {
  await new Deno.Command("sync").output();
  const t0 = performance.now();
  const child = new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch { /* exited */ }
  }, 20);
  const out = await child.output();
  clearInterval(poll);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd.join(" ")} exited ${out.code}: ${text.slice(-800)}`);
  return { seconds: (performance.now() - t0) / 1000, peakMB: peak, out: text };
}

/**
 * A table with a header, the first column left-aligned and the others right-aligned.
 *
 * @param head Column titles.
 * @param rows Cells.
 * @returns The lines.
 */
export function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), ...rows.map(line)];
}

/**
 * Print a line on stdout at once (the benchmarks' output, interleaved with peers' runs).
 *
 * @param s The line.
 */
export function say(s: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
}

/**
 * The middle value (the upper middle of an even count).
 *
 * @param xs The values.
 * @returns Their median.
 */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Small files for a benchmark: sizes 100..4,000 bytes drawn from `seed`, 100 files a folder,
 * two levels of folders (`d<N>/s<N>/f<N>.txt`).
 *
 * @param root Where they go (made as needed).
 * @param n How many.
 * @param seed Picks the sizes (the same seed, the same tree).
 */
export function smallFiles(root: string, n: number, seed: number): void {
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const buf = crypto.getRandomValues(new Uint8Array(4096));
  for (let i = 0; i < n; i++) {
    const dir = join(root, `d${Math.floor(i / 2000)}`, `s${Math.floor(i / 100) % 20}`);
    if (i % 100 === 0) Deno.mkdirSync(dir, { recursive: true });
    Deno.writeFileSync(
      join(dir, `f${i % 100}.txt`),
      buf.subarray(0, 100 + Math.floor(rnd() * 3900)),
    );
  }
}
