/**
 * The run log: timestamped lines appended to a file. A log folder deleted mid-run is created
 * again on the next write.
 *
 * @module
 */
import * as nodePath from "node:path";
import { redact } from "../secrets.ts";
import { later } from "../util/timer.ts";

const path = Deno.build.os === "windows" ? nodePath.win32 : nodePath.posix;

/**
 * A timestamp for file names: `YYYY-MM-DD_HH-MM-SS` in local time.
 *
 * @param d The time.
 * @returns The stamp.
 */
export function fileStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}-${
    p(d.getMinutes())
  }-${p(d.getSeconds())}`;
}

/**
 * Resolve `--log-file`: a folder (existing, or written with a trailing separator) gets a
 * timestamped file inside it; anything else is the file itself.
 *
 * @param target The user's `--log-file` value, or the default logs folder.
 * @param command The command name, for the file name.
 * @param isFolder Treat `target` as a folder even if it does not exist yet.
 * @returns The log file's path.
 */
export function resolveLogPath(target: string, command: string, isFolder = false): string {
  let folder = isFolder || /[\\/]$/.test(target);
  try {
    folder ||= Deno.statSync(target).isDirectory;
  } catch { /* does not exist: a file name unless it ends with a separator */ }
  return folder ? path.join(target, `ferry-${command}-${fileStamp(new Date())}.log`) : target;
}

/** The list of archived objects a sync from S3 keeps beside the state, for `ferry restore`. */
export const ARCHIVE_LOG = "archive_restore_needed.log";

/** ferry's own log names, `ferry-<command>-YYYY-MM-DD_HH-MM-SS.log`, with the stamp's parts. */
const LOG_NAME = /^ferry-[a-z0-9-]+-(\d{4})-(\d\d)-(\d\d)_(\d\d)-(\d\d)-(\d\d)\.log$/;

/**
 * Remove ferry's old logs from a logs folder, so that a job run every few minutes does not
 * fill it: logs older than `maxAgeDays` go, but the newest `keep` always stay. A log's age is
 * the local time in its name (when its run started), so one listing of the folder is all it
 * reads. Other files are never touched; failures are ignored (a log left behind does no harm).
 *
 * @param folder The logs folder.
 * @param keep How many of the newest logs to keep whatever their age.
 * @param maxAgeDays Age in days beyond which the others are removed.
 * @param now The current time (ms), for tests.
 * @returns How many logs were removed.
 */
export function pruneLogs(folder: string, keep = 50, maxAgeDays = 30, now = Date.now()): number {
  const logs: { name: string; started: number }[] = [];
  try {
    for (const e of Deno.readDirSync(folder)) {
      const m = e.isFile ? LOG_NAME.exec(e.name) : null;
      if (!m) continue;
      const [y, mo, d, h, mi, sec] = m.slice(1).map(Number) as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      logs.push({ name: e.name, started: new Date(y, mo - 1, d, h, mi, sec).getTime() });
    }
  } catch {
    return 0; // no logs folder yet
  }
  logs.sort((a, b) => b.started - a.started);
  const cutoff = now - maxAgeDays * 86_400_000;
  let removed = 0;
  for (const l of logs.slice(keep)) {
    if (l.started >= cutoff) continue;
    try {
      Deno.removeSync(path.join(folder, l.name));
      removed++;
    } catch { /* in use or gone: left */ }
  }
  return removed;
}

/**
 * Appends lines to a log file, buffered, flushing at most every 200 ms and at the end. Until
 * {@linkcode LogFile.keep} is called nothing is written: a pass that changes nothing and fails
 * nothing leaves no log ({@linkcode LogFile.discard} drops its lines).
 */
export class LogFile {
  readonly path: string;
  #buf: string[] = [];
  /** Cancels the pending flush. */
  #timer: (() => void) | undefined;
  #broken = false;
  #kept = false;
  #stampMs = 0;
  #stamp = "";
  #mustExist: string | undefined;

  /**
   * @param file The log file's path (its folder is created as needed).
   * @param mustExist A folder that must exist for the log's folder to be made again (the
   * location holding a default log folder): a log never brings a vanished location back.
   */
  constructor(file: string, mustExist?: string) {
    this.path = file;
    this.#mustExist = mustExist;
  }

  /**
   * Whether the log can be written, without writing to it: an existing file is opened for
   * appending, a missing one is created in its folder (made when missing) and removed again.
   *
   * @returns Why it cannot be written, or undefined when it can.
   */
  check(): string | undefined {
    try {
      if (Deno.statSync(this.path).isDirectory) return "it is a folder";
    } catch { /* not there yet */ }
    let created = false;
    try {
      Deno.mkdirSync(path.dirname(this.path), { recursive: true });
      let f: Deno.FsFile;
      try {
        f = Deno.openSync(this.path, { append: true });
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
        f = Deno.openSync(this.path, { append: true, createNew: true });
        created = true;
      }
      f.close();
      if (created) Deno.removeSync(this.path);
      return undefined;
    } catch (err) {
      return err instanceof Deno.errors.PermissionDenied
        ? "permission denied"
        : (err as Error).message;
    }
  }

  /** From now on this run's lines are written (something changed or failed). */
  keep(): void {
    this.#kept = true;
  }

  /** Drop the lines not yet written of a pass that changed nothing. */
  discard(): void {
    if (this.#kept) return;
    this.#buf = [];
  }

  /**
   * Add a line (a timestamp is put in front).
   *
   * @param line The text; newlines inside are escaped.
   */
  write(line: string): void {
    const now = Date.now();
    if (now !== this.#stampMs) {
      this.#stampMs = now;
      this.#stamp = new Date(now).toISOString();
    }
    const text = line.includes("\n") ? line.replaceAll("\n", "\\n") : line;
    this.#buf.push(`${this.#stamp} ${redact(text)}\n`);
    if (!this.#kept) return;
    if (this.#buf.length >= 1000) this.flush();
    else this.#timer ??= later(200, () => this.flush());
  }

  /** Write out what is buffered. Errors are reported once on stderr, never thrown. */
  flush(): void {
    this.#timer?.();
    this.#timer = undefined;
    if (this.#buf.length === 0 || this.#broken || !this.#kept) return;
    const text = this.#buf.join("");
    this.#buf = [];
    try {
      this.#append(text);
    } catch (err) {
      this.#broken = true;
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `ferry: error: cannot write log file "${this.path}": ${(err as Error).message}\n`,
        ),
      );
    }
  }

  #append(text: string): void {
    try {
      Deno.writeTextFileSync(this.path, text, { append: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      if (this.#mustExist !== undefined) Deno.statSync(this.#mustExist);
      Deno.mkdirSync(path.dirname(this.path), { recursive: true });
      Deno.writeTextFileSync(this.path, text, { append: true });
    }
  }
}
