/**
 * Command-line parsing on `node:util`'s `parseArgs`, with every mistake turned into one
 * clear `UsageError` line.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import type { DeleteLimit } from "../sync.ts";

/** Parsed options of `sync` and `status`. */
export interface SyncArgs {
  command: "sync" | "status";
  from: string;
  to: string;
  delete: boolean;
  dryRun: boolean;
  checksum: boolean;
  exclude: string[];
  maxDelete?: DeleteLimit;
  force: boolean;
  yes: boolean;
  interval?: number;
  transfers: number;
  verbose: number;
  quiet: boolean;
  json: boolean;
  logFile?: string;
  state?: string;
}

/** What the command line asks for. */
export type Parsed =
  | { kind: "help"; topic: string }
  | { kind: "version" }
  | ({ kind: "sync" } & SyncArgs);

const COMMANDS = [
  "sync",
  "status",
  "mirror",
  "restore",
  "restore-status",
  "versioning",
  "versions",
  "get",
];

const options = {
  delete: { type: "boolean" },
  "dry-run": { type: "boolean", short: "n" },
  scan: { type: "boolean" },
  checksum: { type: "boolean" },
  exclude: { type: "string", multiple: true },
  "max-delete": { type: "string" },
  force: { type: "boolean" },
  yes: { type: "boolean" },
  interval: { type: "string" },
  watch: { type: "boolean" },
  transfers: { type: "string" },
  verbose: { type: "boolean", short: "v", multiple: true },
  quiet: { type: "boolean", short: "q" },
  json: { type: "boolean" },
  "log-file": { type: "string" },
  state: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

function positiveInt(flag: string, v: string, min: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min) {
    throw new UsageError(`Option --${flag} takes a whole number of at least ${min}, not "${v}"`);
  }
  return Number(v);
}

/**
 * Parse a `--max-delete` value.
 *
 * @param v `N` or `N%`.
 * @returns The limit.
 * @throws {UsageError} For anything else.
 */
export function parseMaxDelete(v: string): DeleteLimit {
  const m = /^(\d+)(%?)$/.exec(v.trim());
  if (!m || (m[2] && Number(m[1]) > 100)) {
    throw new UsageError(
      `Option --max-delete takes a number of files or a percentage (such as 20 or 50%), not "${v}"`,
    );
  }
  return m[2] ? { percent: Number(m[1]) } : { count: Number(m[1]) };
}

/**
 * Parse the command line.
 *
 * @param argv Arguments after the program name.
 * @returns What to do.
 * @throws {UsageError} For unknown commands or options, missing or extra arguments.
 */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help") {
    return { kind: "help", topic: rest[0] ?? "main" };
  }
  if (command === "-h" || command === "--help") return { kind: "help", topic: "main" };
  if (command === "-V" || command === "--version") return { kind: "version" };
  if (!COMMANDS.includes(command)) {
    throw new UsageError(`Unknown command "${command}": run "ferry --help" for the list`);
  }
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...rest],
      options,
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const opt = /'([^']+)'/.exec(msg)?.[1];
    if (/Unknown option/.test(msg)) {
      throw new UsageError(
        `Unknown option "${opt}" for "ferry ${command}": run "ferry ${command} --help"`,
      );
    }
    throw new UsageError(`${msg.split(".")[0]} (run "ferry ${command} --help")`);
  }
  if (values.help) return { kind: "help", topic: command };
  if (values.version) return { kind: "version" };
  if (command !== "sync" && command !== "status") {
    throw new UsageError(`"ferry ${command}" is not available in this version of ferry yet`);
  }
  if (values.watch) {
    throw new UsageError(
      `--watch is not available in this version of ferry yet: use --interval <seconds>`,
    );
  }
  if (positionals.length !== 2) {
    throw new UsageError(
      `"ferry ${command}" takes two locations, <from> and <to>; got ${positionals.length}: run "ferry ${command} --help"`,
    );
  }
  if (values.quiet && values.verbose) {
    throw new UsageError(`Options -q and -v contradict each other: pick one`);
  }
  const out: Parsed = {
    kind: "sync",
    command,
    from: positionals[0]!,
    to: positionals[1]!,
    delete: !!values.delete,
    dryRun: command === "status" || !!values["dry-run"] || !!values.scan,
    checksum: !!values.checksum,
    exclude: values.exclude ?? [],
    force: !!values.force,
    yes: !!values.yes,
    transfers: values.transfers ? positiveInt("transfers", values.transfers, 1) : 16,
    verbose: values.verbose?.length ?? 0,
    quiet: !!values.quiet,
    json: !!values.json,
  };
  if (values["max-delete"] !== undefined) out.maxDelete = parseMaxDelete(values["max-delete"]);
  if (values.interval !== undefined) {
    if (command === "status") throw new UsageError(`"ferry status" does not take --interval`);
    out.interval = positiveInt("interval", values.interval, 1);
  }
  if (values["log-file"] !== undefined) out.logFile = values["log-file"];
  if (values.state !== undefined) out.state = values.state;
  return out;
}
