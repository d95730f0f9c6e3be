/**
 * The `ferry` command: parses arguments, wires locations, state, logs and output to the
 * engine, and maps errors to exit codes. The only place that decides an exit code.
 *
 * @module
 */
import * as nodePath from "node:path";
import type { Backend } from "../backends/backend.ts";
import { openLocation } from "../backends/open.ts";
import {
  describeError,
  ExitCode,
  LocationError,
  missingSource,
  RunError,
  SafetyError,
  StalledError,
  UsageError,
} from "../errors.ts";
import { type Location, parseLocation } from "../location.ts";
import { StateStore } from "../state/store.ts";
import { Job, type JobOptions } from "../job.ts";
import { mirror, mirrorKey } from "../mirror.ts";
import { oneWay } from "../sync.ts";
import {
  backendFlagsIn,
  type CheckArgs,
  type MirrorArgs,
  parseCommandLine,
  type S3Flags,
  type SyncArgs,
} from "./args.ts";
import { checkLocations } from "../check.ts";
import { runS3Tool } from "./s3_commands.ts";
import { runTrash } from "./trash_commands.ts";
import { HELP, VERSION } from "./help.ts";
import { tryLock } from "./lock.ts";
import { ARCHIVE_LOG, LogFile, pruneLogs, resolveLogPath } from "./log_file.ts";
import { Output } from "./output.ts";
import {
  chooseStateHome,
  legacyMirrorState,
  legacySyncState,
  mirrorStateHome,
  type StateHome,
} from "./state_path.ts";
import { copyDatabase, moveJob } from "../state/move_job.ts";
import { addEnvironmentSecrets, redact } from "../secrets.ts";
import { checkDistinct } from "./distinct.ts";
import { ownFileExcludes } from "./own_files.ts";
import { ZERO_SUMMARY } from "../pass/summary.ts";
import type { PassResult } from "../pass/result.ts";

const enc = new TextEncoder();

function isTerminal(f: { isTerminal(): boolean }): boolean {
  try {
    return f.isTerminal();
  } catch {
    return false;
  }
}

/**
 * Run ferry with these arguments.
 *
 * @param argv Arguments after the program name.
 * @returns The exit code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const wantsDebug = argv.includes("-vv") ||
    argv.filter((a) => a === "-v" || a === "--verbose").length >= 2;
  addEnvironmentSecrets();
  if (argv.length === 0) {
    // Nothing asked: the overview goes to stderr, and a script that forgot its arguments fails.
    Deno.stderr.writeSync(enc.encode(HELP["main"] + "\n"));
    return ExitCode.usage;
  }
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.kind === "help") {
      const text = HELP[parsed.topic];
      if (!text) throw new UsageError(`No help for "${parsed.topic}": run "ferry --help"`);
      Deno.stdout.writeSync(enc.encode(text + "\n"));
      return ExitCode.ok;
    }
    if (parsed.kind === "version") {
      Deno.stdout.writeSync(enc.encode(`ferry ${VERSION}\n`));
      return ExitCode.ok;
    }
    if (parsed.kind === "s3tool") return await runS3Tool(parsed);
    if (parsed.kind === "trash") {
      return await runTrash(parsed, (text) => openChecked(parseLocation(text), s3FlagsOf(parsed)));
    }
    if (parsed.kind === "check") return await runCheck(parsed);
    if (parsed.kind === "mirror") return await runMirror(parsed);
    return await runSync(parsed);
  } catch (err) {
    const json = argv.includes("--json");
    const line = redact(describeError(err));
    const code = exitCodeOf(err);
    if (json) {
      const lines = [
        { event: "error", message: line, exit: code },
        { event: "summary", ...ZERO_SUMMARY, error: true },
      ];
      Deno.stdout.writeSync(enc.encode(lines.map((l) => JSON.stringify(l)).join("\n") + "\n"));
    } else Deno.stderr.writeSync(enc.encode(`ferry: error: ${line}\n`));
    if (wantsDebug && err instanceof Error && err.stack) {
      Deno.stderr.writeSync(enc.encode(redact(err.stack) + "\n"));
    }
    return code;
  }
}

function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError || err instanceof SafetyError || err instanceof RunError) {
    return err.exitCode;
  }
  return ExitCode.usage;
}

/** Make a location's backend (not connected yet), warning first where TLS is not checked. */
function openUnchecked(
  loc: Location,
  s3: S3Flags,
  options: { marker?: boolean } = {},
): Promise<Backend> {
  if (s3.ftpInsecure && loc.kind === "ftps") {
    Deno.stderr.writeSync(
      enc.encode(
        `Warning: --ftp-insecure: the certificate of ${loc.host} is not checked (anyone between could read the password)\n`,
      ),
    );
  }
  return openLocation(loc, { ...s3, ...options, askPassword });
}

async function openChecked(
  loc: Location,
  s3: S3Flags,
  options: { marker?: boolean } = {},
): Promise<Backend> {
  const b = await openUnchecked(loc, s3, options);
  try {
    await b.rootExists();
  } catch (err) {
    // A store that does not answer is a network fault (exit 1), not a wrong location.
    if (err instanceof StalledError) throw new RunError(err.message);
    const message = `Cannot open location "${loc.text}": ${describeError(err)}`;
    // So is a connection that failed after every retry (FTP): exit 1, as a failed run.
    if (err instanceof RunError) throw new RunError(message, { cause: err });
    throw new LocationError(message);
  }
  return b;
}

/** Ask on the terminal; Ctrl-C (or SIGTERM) while it waits answers "no" at once. */
async function confirmOnTerminal(question: string, signal: AbortSignal): Promise<boolean> {
  Deno.stderr.writeSync(enc.encode(`${question} [y/N] `));
  const buf = new Uint8Array(256);
  let onAbort = () => {};
  const aborted = new Promise<null>((resolve) => {
    onAbort = () => resolve(null);
    if (signal.aborted) resolve(null);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  const n = await Promise.race([Deno.stdin.read(buf), aborted]);
  signal.removeEventListener("abort", onAbort);
  if (signal.aborted) {
    Deno.stderr.writeSync(enc.encode("\n"));
    return false;
  }
  const answer = n ? new TextDecoder().decode(buf.subarray(0, n)).trim().toLowerCase() : "";
  return answer === "y" || answer === "yes";
}

function s3FlagsOf(a: S3Flags): S3Flags {
  return backendFlagsIn(a);
}

/** Ask for a password on the terminal without echoing it; undefined without a terminal. */
async function askPassword(question: string): Promise<string | undefined> {
  if (!isTerminal(Deno.stdin) || !isTerminal(Deno.stderr)) return undefined;
  Deno.stderr.writeSync(enc.encode(question));
  Deno.stdin.setRaw(true);
  let out = "";
  try {
    const buf = new Uint8Array(64);
    for (let i = 0; i < 4096; i++) {
      const n = await Deno.stdin.read(buf);
      if (n === null) break;
      const text = new TextDecoder().decode(buf.subarray(0, n));
      // Enter ends the password; Ctrl-C (3) gives up; Ctrl-D (4) ends it too.
      let end = -1;
      for (let j = 0; j < text.length && end < 0; j++) {
        const c = text.charCodeAt(j);
        if (c === 10 || c === 13 || c === 3 || c === 4) end = j;
      }
      out += end < 0 ? text : text.slice(0, end);
      if (end >= 0) {
        if (text.charCodeAt(end) === 3) return undefined;
        break;
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(enc.encode("\n"));
  }
  return out;
}

/** `ferry check`: every difference on stdout, a count at the end; exit 1 when any. */
async function runCheck(a: CheckArgs): Promise<number> {
  const from = parseLocation(a.from);
  const to = parseLocation(a.to);
  checkDistinct(from, to, a.endpoint);
  const s3 = s3FlagsOf(a);
  const src = await openChecked(from, s3);
  const dst = await openChecked(to, s3);
  const out = (line: string) => Deno.stdout.writeSync(enc.encode(redact(line) + "\n"));
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  const started = performance.now();
  try {
    const r = await checkLocations(src, dst, {
      exclude: [...a.exclude, ...ownFileExcludes([from, to], {})],
      signal: abort.signal,
      onDifference: (d) => {
        if (a.json) out(JSON.stringify({ event: d.kind, path: d.path, detail: d.detail }));
        else if (!a.quiet || d.kind !== "failed") out(`${d.kind}: ${d.path} (${d.detail})`);
      },
    });
    const n = (k: string) => r.differences.filter((d) => d.kind === k).length;
    const counts = { differ: n("differ"), missing: n("missing"), extra: n("extra") };
    const failed = n("failed");
    const seconds = (performance.now() - started) / 1000;
    if (a.json) {
      out(JSON.stringify({ event: "summary", compared: r.compared, ...counts, failed, seconds }));
    } else if (!a.quiet) {
      const same = r.differences.length === 0;
      Deno.stderr.writeSync(enc.encode(
        `Checked ${from.text} -> ${to.text}: ${
          same
            ? "identical"
            : `${counts.differ} differ, ${counts.missing} missing, ${counts.extra} extra`
        }; ${r.compared} file(s) compared by SHA-256, ${failed} failed, in ${
          seconds.toFixed(2)
        } s.\n`,
      ));
    }
    if (abort.signal.aborted) return ExitCode.interrupted;
    return r.differences.length > 0 ? ExitCode.someFailed : ExitCode.ok;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await src.close();
    await dst.close();
  }
}

async function runSync(a: SyncArgs): Promise<number> {
  const from = parseLocation(a.from);
  const to = parseLocation(a.to);
  checkDistinct(from, to, a.endpoint);
  const s3 = s3FlagsOf(a);
  // Whoever keeps both the state and the logs elsewhere gets no .ferry folder in a location,
  // not even the marker that lets a stick be recognised at another mount point.
  const marker = !(a.state && a.logFile);
  const src = await openChecked(from, s3, { marker });
  const dst = await openChecked(to, s3, { marker });
  // A missing source is refused before anything is made anywhere (no state folder in the
  // destination either); only a log the user named hears of it. Opened now, a local source
  // starts its walker while the rest is set up.
  if (!(await src.open("read")).exists) {
    const refusal = missingSource(from.text);
    if (a.logFile) {
      const log = new LogFile(resolveLogPath(a.logFile, a.command));
      log.keep();
      log.write(`ERROR ${refusal.message}`);
      log.flush();
    }
    throw refusal;
  }

  return await runJob(a, [from, to], [src, dst], {
    names: `${from.text} -> ${to.text}`,
    make: (o) => new Job([src, dst], oneWay, o),
    deleteQuestion: (n, sample) =>
      `Delete ${n} file(s) in "${to.text}" that "${from.text}" no longer has` +
      ` (${sample.slice(0, 3).join(", ")}${n > 3 ? ", …" : ""})?`,
    // Checked before the lock: the state may live in the source, and a source that is gone
    // (an unplugged stick) is the missing-source refusal, not a lock error.
    beforePass: async () => {
      if (!(await src.rootExists())) throw missingSource(from.text);
    },
    archiveFrom: from.text,
  });
}

/** What differs between the commands that run a {@linkcode Job}. */
interface JobCommand {
  /** The locations, for the summary's title. */
  names: string;
  make: (options: JobOptions) => Job;
  deleteQuestion: (n: number, sample: string[]) => string;
  beforePass?: () => Promise<void>;
  /** The location archived objects are listed for (sync's source). */
  archiveFrom?: string;
  /**
   * A mirror's job key: its state lives in the platform's state folder under it, never in a
   * member (see state_path.ts), and is taken from a member where an older ferry kept it.
   */
  mirrorJob?: string;
}

/** Run `sync` or `mirror`: once, every `--interval`, or watching; state, logs, lock, signals. */
async function runJob(
  a: SyncArgs | MirrorArgs,
  locs: readonly Location[],
  members: readonly Backend[],
  cmd: JobCommand,
): Promise<number> {
  const changing = !a.dryRun;
  const place = await statePlace(a, locs, cmd.mirrorJob);
  const { statePath } = place;
  const log = openLog(a, place.home);
  // ferry's own files (a ZIP location's archive, the state, the log) where a folder holds them.
  const exclude = [
    ...a.exclude,
    ...ownFileExcludes(locs, { state: statePath, ...(log ? { log: log.path } : {}) }),
  ];
  const out = outputOf(a, log);
  if (place.moved) out.note(place.moved);
  const state = openState(statePath, changing);

  const { abort, unlisten } = listenForSignals(out);

  const askBeforeDelete = asksBeforeDelete(a, out);
  const done = a.command === "mirror" ? "Mirrored" : "Synced";
  const title = (interrupted: boolean) =>
    `${interrupted ? "Interrupted" : a.dryRun ? "Status of" : done} ${cmd.names}`;
  try {
    let code: number = ExitCode.ok;
    /** Seconds between looks at what cannot be watched (as the watch says when it starts). */
    let poll = 0;
    const job = cmd.make({
      delete: a.command !== "mirror" && a.delete,
      dryRun: a.dryRun,
      checksum: a.checksum,
      exclude,
      ...(a.maxDelete ? { maxDelete: a.maxDelete } : {}),
      trashDays: a.trashDays,
      ...(a.trashMax ? { trashMax: a.trashMax } : {}),
      force: a.force,
      concurrency: a.transfers,
      sink: out,
      signal: abort.signal,
      ...(state ? { state } : {}),
      ...(a.interval ? { interval: a.interval } : {}),
      ...(askBeforeDelete
        ? {
          confirmDelete: (n: number, sample: string[]) =>
            confirmOnTerminal(cmd.deleteQuestion(n, sample), abort.signal),
        }
        : {}),
      ...(changing ? { lock: () => takeLock(statePath) } : {}),
      // A watch or a periodic run outlives a refusal (a location unplugged for a while): it says
      // so, skips the pass and tries again; the next pass that goes through is a whole one.
      ...(a.watch || a.interval
        ? {
          goOn: (err: unknown) => {
            if (!(err instanceof SafetyError)) return false;
            out.error(
              a.watch
                ? `${err.message}; still watching (looking again every ${poll} s)`
                : `${err.message}; this pass is skipped, the next in ${a.interval} s`,
            );
            return true;
          },
        }
        : {}),
      beforePass: async () => {
        log?.write(`START ferry ${a.command} ${cmd.names}`);
        await cmd.beforePass?.();
      },
      afterPass: (o) => {
        if (o.kind === "locked") {
          out.note(
            `Another ferry run is using "${statePath}"; this ${
              a.interval ? "pass" : "run"
            } is skipped`,
          );
          return;
        }
        const res = o.result;
        out.summary(res.summary, res.failures, title(res.interrupted || abort.signal.aborted));
        if (changing && cmd.archiveFrom !== undefined) {
          writeArchiveLog(nodePath.dirname(statePath), cmd.archiveFrom, res.archived, out);
        }
        code = passExitCode(a.command, res);
      },
    });
    if (a.watch) {
      await job.watch({
        ...(a.poll !== undefined ? { poll: a.poll } : {}),
        started: (w) => {
          poll = w.poll;
          const others = w.polled > 0
            ? `, looking at ${w.polled} other location(s) every ${w.poll} s`
            : "";
          out.note(
            `Watching ${w.watched} folder(s)${others}; a full pass every ${w.fullPass} s. Ctrl-C stops.`,
          );
        },
      });
    } else await job.run();
    return abort.signal.aborted ? ExitCode.interrupted : code;
  } catch (err) {
    if (err instanceof SafetyError || err instanceof UsageError || err instanceof RunError) {
      out.error(err.message);
      if (a.verbose >= 2 && err.stack) Deno.stderr.writeSync(enc.encode(redact(err.stack) + "\n"));
      out.summary({ ...ZERO_SUMMARY }, [], title(false), true);
      return err.exitCode;
    }
    throw err;
  } finally {
    unlisten();
    out.close();
    state?.close();
    for (const m of members) await m.close();
  }
}

/**
 * Whether to ask before deleting. A periodic run never waits for a person: it does not ask
 * (--max-delete and the empty-source guard still hold), so a job left in tmux does not stop at
 * a prompt; it says so where someone could have answered.
 */
function asksBeforeDelete(a: SyncArgs | MirrorArgs, out: Output): boolean {
  const deletes = a.command === "mirror" || a.delete;
  if ((a.interval || a.watch) && deletes && !a.yes && isTerminal(Deno.stdin)) {
    out.note("Periodic run: deletions are not asked about (--max-delete still applies)");
  }
  return !a.yes && !a.json && !a.interval && !a.watch && isTerminal(Deno.stdin) && !a.dryRun;
}

/** A pass's exit code: a mirror's conflicts are resolved (the losers kept), not failures. */
function passExitCode(command: string, res: PassResult): number {
  const unresolved = command === "mirror" ? 0 : res.summary.conflicts;
  if (res.interrupted) return ExitCode.interrupted;
  return res.summary.failed > 0 || unresolved > 0 || res.deletesHeld
    ? ExitCode.someFailed
    : ExitCode.ok;
}

/**
 * Ctrl-C (or SIGTERM) stops the run: the signal returned is aborted; a second one exits at once.
 */
function listenForSignals(out: Output): { abort: AbortController; unlisten: () => void } {
  const abort = new AbortController();
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals > 1) Deno.exit(ExitCode.interrupted);
    out.note("Interrupted: stopping (press Ctrl-C again to stop at once)");
    abort.abort();
  };
  const sigs: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of sigs) Deno.addSignalListener(s, onSignal);
  return { abort, unlisten: () => sigs.forEach((s) => Deno.removeSignalListener(s, onSignal)) };
}

/** Where a job's state lives: `--state`, its home, or where an older ferry kept it. */
async function statePlace(
  a: SyncArgs | MirrorArgs,
  locs: readonly Location[],
  mirrorJob: string | undefined,
): Promise<{ statePath: string; home?: StateHome; moved?: string }> {
  const changing = !a.dryRun;
  // The default home (`.ferry/` in a local root) only when the state or the logs go there: a
  // user who put both elsewhere gets no folder made in their source.
  const home = !a.state || (changing && !a.logFile)
    ? await (mirrorJob !== undefined
      ? mirrorHome(mirrorJob, changing)
      : chooseStateHome(locs, changing))
    : undefined;
  let statePath = a.state ? nodePath.resolve(a.state) : home!.db;
  const at = home ? { home } : {};
  // No state where it lives now, and one where an older ferry kept it (a mirror's in a member,
  // a sync's in its destination): it is brought over, so the run is not a first run.
  const inLocation = home !== undefined &&
    locs.some((l) => l.kind === "local" && nodePath.resolve(l.path) === home.root);
  if (a.state || inLocation || isFile(statePath)) return { statePath, ...at };
  const job = mirrorJob;
  const old = job !== undefined ? await legacyMirrorState(job, locs) : legacySyncState(locs);
  // A dry run reads it where it is; a run brings it over (once: the new place has it then).
  if (old && !changing) statePath = old;
  else if (old) {
    const movedFrom = bringLegacyState(
      old,
      statePath,
      job !== undefined ? () => moveJob(old, statePath, job) : () => copyDatabase(old, statePath),
    );
    if (movedFrom) {
      const moved = job !== undefined
        ? `Moved this mirror's state from "${movedFrom}" to "${statePath}": it no longer leaves with a member that is unplugged`
        : `Copied this job's state from "${movedFrom}" to "${statePath}": it no longer lives in the destination`;
      return { statePath, ...at, moved };
    }
  }
  return { statePath, ...at };
}

/** The run's log: `--log-file`, else (a run that changes things) one in the state's home. */
function openLog(a: SyncArgs | MirrorArgs, home: StateHome | undefined): LogFile | undefined {
  if (a.logFile) {
    const log = new LogFile(resolveLogPath(a.logFile, a.command));
    // Found now, not after the sync: a log that cannot be written is a run nobody can audit.
    const why = log.check();
    if (why) throw new UsageError(`Cannot write the log file "${log.path}": ${why}`);
    return log;
  }
  if (a.dryRun) return undefined;
  pruneLogs(home!.logs);
  // The default logs live in a location's .ferry folder: never made again when that
  // location's root is gone (an unplugged stick must not reappear as an empty folder).
  return new LogFile(resolveLogPath(home!.logs, a.command, true), home!.root);
}

function outputOf(a: SyncArgs | MirrorArgs, log: LogFile | undefined): Output {
  const stderrTty = isTerminal(Deno.stderr);
  return new Output({
    verbose: a.verbose,
    quiet: a.quiet,
    json: a.json,
    progress: stderrTty && !a.quiet && !a.json && !a.dryRun,
    color: stderrTty && !Deno.env.get("NO_COLOR"),
    dryRun: a.dryRun,
    where: a.command === "mirror",
    ...(log ? { log } : {}),
  });
}

/** The state database (a dry run without one works without it). */
function openState(statePath: string, changing: boolean): StateStore | undefined {
  try {
    if (changing) return StateStore.open(statePath);
    try {
      if (Deno.statSync(statePath).isFile) return StateStore.open(statePath);
    } catch { /* no state yet: a dry run works without it */ }
    return undefined;
  } catch (err) {
    throw new UsageError(
      `Cannot open state database "${statePath}": ${stateProblem(statePath, err)}`,
    );
  }
}

/** `ferry mirror`: the locations from the command line, a list file, or asked for. */
async function runMirror(a: MirrorArgs): Promise<number> {
  let texts = a.locations;
  if (a.file !== undefined) texts = readLocationList(a.file);
  else if (texts.length === 0) {
    if (!isTerminal(Deno.stdin) || !isTerminal(Deno.stderr)) {
      throw new UsageError(
        `"ferry mirror" needs two or more locations, or --file <list>: run "ferry mirror --help"`,
      );
    }
    texts = await askLocations();
  }
  if (texts.length < 2) {
    throw new UsageError(`"ferry mirror" needs at least two locations; got ${texts.length}`);
  }
  const locs = texts.map(parseLocation);
  for (let i = 0; i < locs.length; i++) {
    for (let j = i + 1; j < locs.length; j++) checkDistinct(locs[i]!, locs[j]!, a.endpoint);
  }
  // A folder location that names a file is a typo, not a member that is away: one line, exit 2.
  for (const loc of locs) {
    if (loc.kind !== "local") continue;
    let isDir = true;
    try {
      isDir = Deno.statSync(loc.path).isDirectory;
    } catch { /* missing, or unreadable: decided when the pass opens it */ }
    if (!isDir) {
      throw new UsageError(
        `"${loc.text}" is a file, not a folder: a mirror keeps folders in step (for a ZIP archive, write zip:${loc.text})`,
      );
    }
  }
  const s3 = s3FlagsOf(a);
  const marker = !(a.state && a.logFile);
  // Not checked here: a location that cannot be reached sits a round out (mirrorOnce says so).
  const members: Backend[] = [];
  for (const loc of locs) members.push(await openUnchecked(loc, s3, { marker }));
  return await runJob(a, locs, members, {
    names: locs.map((l) => l.text).join(" <-> "),
    make: (o) => new Job(members, mirror, o),
    mirrorJob: mirrorKey(members),
    deleteQuestion: (n, sample) =>
      `Delete ${n} file(s) that another location deleted` +
      ` (${sample.slice(0, 3).join(", ")}${n > 3 ? ", …" : ""})?`,
  });
}

/**
 * The locations of a list file: one a line, `#` starts a comment, blank lines ignored (the
 * forms `folder:`, `zip:`, `ftp:user:password@host/path` and every other location).
 */
function readLocationList(file: string): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (err) {
    throw new UsageError(`Cannot read the location list "${file}": ${describeError(err)}`);
  }
  const out = text.split(/\r?\n/).map((l) => l.replace(/(^|\s)#.*$/, "").trim()).filter(Boolean);
  if (out.length < 2) {
    throw new UsageError(
      `The location list "${file}" names ${out.length} location(s): a mirror needs two or more, one a line`,
    );
  }
  return out;
}

/** Ask for the locations one by one on the terminal, until an empty line or `end`. */
async function askLocations(): Promise<string[]> {
  const out: string[] = [];
  const buf = new Uint8Array(4096);
  const dec = new TextDecoder();
  let pending = "";
  const say = (text: string) => Deno.stderr.writeSync(enc.encode(text));
  for (let i = 0; i < 1000; i++) {
    say(`Location ${out.length + 1} (folder, zip:, ftp://, s3://; empty or "end" to finish): `);
    let line: string | undefined;
    while (line === undefined) {
      const nl = pending.indexOf("\n");
      if (nl >= 0) {
        line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        break;
      }
      const n = await Deno.stdin.read(buf);
      if (n === null) {
        line = pending + dec.decode();
        pending = "";
        if (line === "") return out;
        break;
      }
      pending += dec.decode(buf.subarray(0, n), { stream: true });
    }
    const t = line.trim();
    if (t === "" || t.toLowerCase() === "end") break;
    const why = promptProblem(t);
    if (why) {
      say(redact(why) + "\n");
      continue;
    }
    out.push(t);
  }
  return out;
}

/**
 * What is wrong with a location typed at the prompt, in one line, or undefined. A key that
 * sends an escape sequence (an arrow, Home, End) puts it into the line: `ESC[4~` became a
 * folder of that name, made and filled.
 */
function promptProblem(typed: string): string | undefined {
  // C0 and C1 control characters, DEL: what keys and escape sequences put in a line.
  if (/\p{Cc}/u.test(typed)) {
    return "That is not a location: the line holds a control character or a key's escape " +
      "sequence (an arrow, Home or End key); type the location again";
  }
  try {
    parseLocation(typed);
  } catch (err) {
    if (err instanceof UsageError) return `${err.message}; type the location again`;
    throw err;
  }
  return undefined;
}

/**
 * Keep `archive_restore_needed.log` beside the state: the archived objects of the last run, one
 * a line, for `ferry restore`; removed when there are none.
 */
function writeArchiveLog(dir: string, from: string, keys: string[], out: Output): void {
  const file = nodePath.join(dir, ARCHIVE_LOG);
  try {
    if (keys.length === 0) {
      Deno.removeSync(file);
      return;
    }
    const head = `# ${new Date().toISOString()} ${from}: ${keys.length} archived object(s) were ` +
      `skipped. Run "ferry restore ${from}", then sync again once "ferry restore-status" says restored.\n`;
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(file, head + keys.map((k) => JSON.stringify(k)).join("\n") + "\n");
    out.note(
      `${keys.length} archived object(s) skipped: listed in ${file}; run "ferry restore ${from}"`,
    );
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      out.error(`Cannot write "${file}": ${describeError(err)}`);
    }
  }
}

/** Why a state database could not be opened, in words a user can act on. */
function stateProblem(statePath: string, err: unknown): string {
  try {
    if (Deno.statSync(statePath).isDirectory) {
      return "it is a folder: give a file name with --state";
    }
  } catch { /* not there */ }
  const text = describeError(err);
  if (/not a database|malformed/i.test(text)) {
    return "the file is not a ferry state database (damaged, or another file): move it away and run again (nothing is lost: the next run compares everything)";
  }
  if (/readonly|permission|access/i.test(text)) {
    return "permission denied: choose a writable --state";
  }
  return text.replace(/ \(ERR_SQLITE_ERROR\)$/, "");
}

function isFile(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

/** A mirror's state home, or one line saying why it cannot be made. */
async function mirrorHome(job: string, create: boolean) {
  try {
    return await mirrorStateHome(job, create);
  } catch (err) {
    throw new UsageError(
      `Cannot make the state folder of this mirror: ${describeError(err)}; choose one with --state`,
    );
  }
}

/**
 * Bring a job's state from where an older ferry kept it to its own place, under the job's lock
 * (two runs of the job started together bring it once).
 *
 * @returns The old path when brought over; undefined when another run holds the job.
 */
function bringLegacyState(old: string, statePath: string, bring: () => void): string | undefined {
  const lock = takeLock(statePath);
  if (!lock) return undefined;
  try {
    if (isFile(statePath)) return undefined; // the other run brought it first
    bring();
    return old;
  } catch (err) {
    throw new UsageError(
      `Cannot bring this job's state from "${old}" to "${statePath}": ${
        describeError(err)
      }; copy it yourself, or name it with --state`,
    );
  } finally {
    lock.release();
  }
}

/** The lock, or one line saying why it cannot be taken. */
function takeLock(statePath: string): ReturnType<typeof tryLock> {
  try {
    return tryLock(statePath);
  } catch (err) {
    throw new UsageError(`Cannot take the lock "${statePath}.lock": ${describeError(err)}`);
  }
}
