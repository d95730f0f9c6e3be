/**
 * The output layer: the only place that prints. Turns engine events into human lines, JSON
 * lines (`--json`), a progress bar (terminal only) and log-file lines.
 *
 * @module
 */
import type { EventSink, SyncEvent } from "../execute/events.ts";
import type { Summary } from "../pass/summary.ts";
import type { LogFile } from "./log_file.ts";
import { redact } from "../secrets.ts";

/** How much to print. */
export interface OutputOptions {
  /** 0 normal, 1 `-v`, 2 `-vv`. */
  verbose: number;
  quiet: boolean;
  json: boolean;
  /** Show a progress bar (stderr is a terminal and not quiet/json). */
  progress: boolean;
  color: boolean;
  log?: LogFile;
  /** Print plan events as "would …" lines. */
  dryRun?: boolean;
  /** Name the location each operation acted on (a mirror writes to every member). */
  where?: boolean;
}

const enc = new TextEncoder();

/**
 * Human-readable byte counts.
 *
 * @param n Bytes.
 * @returns Such as `1.5 MB`.
 */
export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/**
 * A duration for the progress bar: `m:ss`, or `h:mm:ss` from an hour on.
 *
 * @param secs Seconds.
 * @returns Such as `1:05` or `2:00:10`.
 */
export function formatDuration(secs: number): string {
  const t = Math.max(0, Math.round(secs));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Print a path so that newlines and control characters cannot break a line. */
function shown(p: string): string {
  // deno-lint-ignore no-control-regex
  return /[\x00-\x1f\x7f]/.test(p) ? JSON.stringify(p) : p;
}

/** The sink the CLI hands to the engine. */
export class Output implements EventSink {
  readonly options: OutputOptions;
  #barShown = false;

  /** @param options What to print and where. */
  constructor(options: OutputOptions) {
    this.options = options;
  }

  #out(line: string): void {
    this.#clearBar();
    Deno.stdout.writeSync(enc.encode(redact(line) + "\n"));
  }

  #err(line: string): void {
    this.#clearBar();
    Deno.stderr.writeSync(enc.encode(redact(line) + "\n"));
  }

  #paint(code: number, text: string): string {
    return this.options.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  #clearBar(): void {
    if (this.#barShown) {
      Deno.stderr.writeSync(enc.encode("\r\x1b[2K"));
      this.#barShown = false;
    }
  }

  /**
   * Report an error line on stderr (always, even with `-q`), and to the log.
   *
   * @param message One line.
   */
  error(message: string): void {
    this.options.log?.keep();
    this.options.log?.write(`ERROR ${message}`);
    if (this.options.json) {
      this.#out(JSON.stringify({ event: "error", message }));
    } else this.#err(`ferry: ${this.#paint(31, "error:")} ${message}`);
  }

  /**
   * A note for the user on stderr (not with `-q`); with `--json`, a note event.
   *
   * @param message One line.
   */
  note(message: string): void {
    this.emit({ event: "note", level: "info", message });
  }

  emit(e: SyncEvent): void {
    const o = this.options;
    if (e.event === "progress") {
      if (o.progress) this.#bar(e);
      return;
    }
    const text = this.#describe(e);
    if (o.log && !(e.event === "note" && e.level === "debug")) {
      if (e.event !== "note" && e.event !== "skip") o.log.keep();
      o.log.write(text);
    }
    if (o.json) {
      this.#out(JSON.stringify(e));
      return;
    }
    if (e.event === "fail") {
      this.#err(`${this.#paint(31, "failed:")} ${text}`);
      return;
    }
    if (e.event === "conflict") {
      this.#err(`${this.#paint(33, "conflict:")} ${text}`);
      return;
    }
    if (o.quiet) return;
    if (e.event === "note") {
      if (e.level === "warn") this.#err(`ferry: ${this.#paint(33, "warning:")} ${e.message}`);
      else if (e.level !== "debug" || o.verbose >= 2) this.#err(e.message);
      return;
    }
    if (e.event === "skip") {
      if (o.verbose >= 1) this.#err(`skipped: ${text}`);
      return;
    }
    if (o.dryRun || o.verbose >= 1) {
      if ((e.event === "mkdir" || e.event === "rmdir") && o.verbose < 2 && !o.dryRun) return;
      this.#out(text);
    }
  }

  #describe(e: Exclude<SyncEvent, { event: "progress" }>): string {
    const text = this.#what(e);
    const kept = "trash" in e && e.trash ? `; the old version kept in ${shown(e.trash)}` : "";
    return this.options.where && e.location && e.event !== "note" && e.event !== "conflict"
      ? `${text} in ${e.location}${kept}`
      : text + kept;
  }

  #what(e: Exclude<SyncEvent, { event: "progress" }>): string {
    const would = "dryRun" in e && e.dryRun ? "would " : "";
    switch (e.event) {
      case "copy":
      case "update":
      case "delete":
        return `${would}${e.event} ${shown(e.path)}${
          e.bytes !== undefined ? ` (${formatBytes(e.bytes)})` : ""
        }`;
      case "mkdir":
      case "rmdir":
        return `${would}${e.event} ${shown(e.path)}/`;
      case "retime":
        return `${would}set the time of ${shown(e.path)} (same content)`;
      case "move":
        return `${would}move ${shown(e.from)} -> ${shown(e.path)}${
          e.files > 1 ? ` (${plural(e.files, "file")})` : ""
        }`;
      case "skip":
        return `${shown(e.path)}: ${e.reason}`;
      case "fail":
        return `${e.op} ${shown(e.path)}: ${e.error}`;
      case "conflict":
        return `${shown(e.path)}: ${e.message}`;
      case "note":
        return e.message;
    }
  }

  #started = performance.now();

  #bar(e: Extract<SyncEvent, { event: "progress" }>): void {
    if (e.totalFiles === 0) return;
    const secs = (performance.now() - this.#started) / 1000;
    // A rate and an ETA only once there is something to measure them by (the first frames
    // would divide by almost nothing).
    const rate = secs >= 1 && e.bytes > 0 ? e.bytes / secs : 0;
    const eta = rate > 0 ? `ETA ${formatDuration((e.totalBytes - e.bytes) / rate)}` : "";
    const width = 20;
    const frac = e.totalBytes > 0
      ? e.bytes / e.totalBytes
      : e.totalFiles > 0
      ? e.files / e.totalFiles
      : 1;
    const filled = Math.round(frac * width);
    const line =
      `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${e.files}/${e.totalFiles} files  ` +
      `${formatBytes(e.bytes)}/${formatBytes(e.totalBytes)}` +
      (rate > 0 ? `  ${formatBytes(rate)}/s  ${eta}` : "");
    Deno.stderr.writeSync(enc.encode("\r\x1b[2K" + line));
    this.#barShown = true;
  }

  /**
   * Print the end-of-run summary: a JSON line with `--json`, else one paragraph (not with `-q`),
   * plus the failed files.
   *
   * @param s The summary.
   * @param failures Paths that failed, with why.
   * @param title What was done (`Synced a -> b`).
   */
  summary(
    s: Summary,
    failures: { path: string; error: string }[],
    title: string,
    afterError = false,
  ): void {
    this.#clearBar();
    const o = this.options;
    const nothing = s.copied + s.updated + s.moved + s.deleted + s.conflicts === 0;
    if (afterError) {
      // The error line said it all; --json still ends with a summary, as it always does.
      if (o.json) this.#out(JSON.stringify({ event: "summary", ...s, error: true }));
      return;
    }
    const text = o.dryRun
      ? (nothing
        ? `in step, nothing to do (${s.skipped} skipped, ${s.failed} failed).`
        : `${plural(s.copied, "file")} to copy, ${s.updated} to update, ${s.moved} to move, ` +
          `${s.deleted} to delete; ${s.conflicts} conflicts, ${s.skipped} skipped, ` +
          `${s.failed} failed; ${formatBytes(s.bytes)} to send.`)
      : `${plural(s.copied, "file")} copied, ${s.updated} updated, ` +
        `${s.moved} moved, ${s.deleted} deleted; ${s.conflicts} conflicts, ${s.skipped} skipped, ` +
        `${s.failed} failed; ${formatBytes(s.bytes)} in ${s.seconds.toFixed(2)} s.`;
    o.log?.write(`SUMMARY ${title}: ${text}`);
    if (nothing && s.failed === 0) o.log?.discard();
    else o.log?.keep();
    if (o.json) {
      this.#out(
        JSON.stringify({
          event: "summary",
          ...s,
          seconds: Number(s.seconds.toFixed(3)),
          ...(o.dryRun ? { dryRun: true } : {}),
        }),
      );
      return;
    }
    if (failures.length > 0) {
      this.#err(`${plural(failures.length, "path")} failed:`);
      for (const f of failures.slice(0, 200)) this.#err(`  ${shown(f.path)}: ${f.error}`);
      if (failures.length > 200) this.#err(`  … and ${failures.length - 200} more (see the log)`);
    }
    if (!o.quiet) this.#out(`${title}: ${text}`);
  }

  /** Flush the log. */
  close(): void {
    this.#clearBar();
    this.options.log?.flush();
  }
}
