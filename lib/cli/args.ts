/**
 * Command-line parsing on `node:util`'s `parseArgs`, with every mistake turned into one
 * clear `UsageError` line.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import type { DeleteLimit } from "../pass/delete_limit.ts";

/** How to reach S3 locations (flags common to every command). */
export interface S3Flags {
  endpoint?: string;
  region?: string;
  profile?: string;
  pathStyle?: boolean;
  /** FTP: connections at most (`--ftp-connections`). */
  ftpConnections?: number;
  /** FTPS: accept a certificate that does not verify (`--ftp-insecure`). */
  ftpInsecure?: boolean;
  /** FTPS with TLS from the first byte (`--ftp-implicit-tls`). */
  ftpImplicitTls?: boolean;
}

/** Output flags common to every command. */
export interface OutputFlags {
  verbose: number;
  quiet: boolean;
  json: boolean;
}

/** Parsed options of the S3 tool commands. */
export type S3ToolArgs =
  & S3Flags
  & OutputFlags
  & (
    | {
      command: "restore";
      location: string;
      tier: "Bulk" | "Standard" | "Expedited";
      days: number;
    }
    | { command: "restore-status"; location: string }
    | { command: "versioning"; location: string; set?: boolean }
    | { command: "versions"; location: string; path: string }
    | { command: "get"; location: string; path: string; versionId: string; output?: string }
  );

/** Parsed options of `check`. */
export interface CheckArgs extends S3Flags, OutputFlags {
  command: "check";
  from: string;
  to: string;
  exclude: string[];
}

/** Parsed options of `sync` and `status`. */
export interface SyncArgs extends S3Flags {
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
  /** After the first pass, follow changes as they happen. */
  watch: boolean;
  /** With `--watch`: seconds between looks at locations that cannot be watched. */
  poll?: number;
  transfers: number;
  verbose: number;
  quiet: boolean;
  json: boolean;
  logFile?: string;
  state?: string;
}

/** Parsed options of `mirror`. */
export interface MirrorArgs extends Omit<SyncArgs, "command" | "from" | "to" | "delete"> {
  command: "mirror";
  /** The locations given on the command line. */
  locations: string[];
  /** A file naming the locations, one a line (`--file`). */
  file?: string;
}

/** What the command line asks for. */
export type Parsed =
  | { kind: "help"; topic: string }
  | { kind: "version" }
  | ({ kind: "sync" } & SyncArgs)
  | ({ kind: "mirror" } & MirrorArgs)
  | ({ kind: "check" } & CheckArgs)
  | ({ kind: "s3tool" } & S3ToolArgs);

const COMMANDS = [
  "sync",
  "status",
  "check",
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
  poll: { type: "string" },
  file: { type: "string" },
  transfers: { type: "string" },
  verbose: { type: "boolean", short: "v", multiple: true },
  quiet: { type: "boolean", short: "q" },
  json: { type: "boolean" },
  "log-file": { type: "string" },
  state: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  endpoint: { type: "string" },
  region: { type: "string" },
  profile: { type: "string" },
  "path-style": { type: "boolean" },
  "ftp-connections": { type: "string" },
  "ftp-insecure": { type: "boolean" },
  "ftp-implicit-tls": { type: "boolean" },
  tier: { type: "string" },
  days: { type: "string" },
  "version-id": { type: "string" },
  output: { type: "string", short: "o" },
} as const;

/** Which options each command takes, beyond the common ones. */
const COMMON = [
  "verbose",
  "quiet",
  "json",
  "help",
  "version",
  "endpoint",
  "region",
  "profile",
  "path-style",
  "ftp-connections",
  "ftp-insecure",
  "ftp-implicit-tls",
];
const SYNC_ONLY = [
  "delete",
  "dry-run",
  "scan",
  "checksum",
  "exclude",
  "max-delete",
  "force",
  "yes",
  "interval",
  "watch",
  "poll",
  "transfers",
  "log-file",
  "state",
];
const ALLOWED: Record<string, string[]> = {
  sync: [...COMMON, ...SYNC_ONLY],
  status: [...COMMON, ...SYNC_ONLY.filter((o) => o !== "watch" && o !== "poll")],
  check: [...COMMON, "exclude"],
  mirror: [...COMMON, ...SYNC_ONLY.filter((o) => o !== "delete"), "file"],
  restore: [...COMMON, "tier", "days"],
  "restore-status": COMMON,
  versioning: COMMON,
  versions: COMMON,
  get: [...COMMON, "version-id", "output"],
};

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
  // A value that starts with a dash ("--interval -5") is the option's value, not an option: it
  // gets its own clear line below instead of the parser's "argument is ambiguous".
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const def = a.startsWith("--") ? options[a.slice(2) as keyof typeof options] : undefined;
    const next = rest[i + 1];
    if (def?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  try {
    ({ values, positionals } = parseArgs({
      args,
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
  for (const [name, v] of Object.entries(values)) {
    if (v !== undefined && !ALLOWED[command]!.includes(name)) {
      throw new UsageError(
        `Option --${name} does not apply to "ferry ${command}": run "ferry ${command} --help"`,
      );
    }
  }
  if (values.quiet && values.verbose) {
    throw new UsageError(`Options -q and -v contradict each other: pick one`);
  }
  const s3: S3Flags = {};
  if (values.endpoint !== undefined) s3.endpoint = values.endpoint;
  if (values.region !== undefined) s3.region = values.region;
  if (values.profile !== undefined) s3.profile = values.profile;
  if (values["path-style"]) s3.pathStyle = true;
  if (values["ftp-connections"] !== undefined) {
    s3.ftpConnections = positiveInt("ftp-connections", values["ftp-connections"], 1);
  }
  if (values["ftp-insecure"]) s3.ftpInsecure = true;
  if (values["ftp-implicit-tls"]) s3.ftpImplicitTls = true;
  const outFlags: OutputFlags = {
    verbose: values.verbose?.length ?? 0,
    quiet: !!values.quiet,
    json: !!values.json,
  };
  const need = (n: number, what: string) => {
    if (positionals.length !== n) {
      throw new UsageError(
        `"ferry ${command}" takes ${what}; got ${positionals.length} argument(s): run "ferry ${command} --help"`,
      );
    }
  };
  switch (command) {
    case "restore": {
      need(1, "one S3 location");
      const tiers = { bulk: "Bulk", standard: "Standard", expedited: "Expedited" } as const;
      const tier = tiers[(values.tier ?? "bulk").toLowerCase() as keyof typeof tiers];
      if (!tier) {
        throw new UsageError(
          `Option --tier takes bulk, standard or expedited, not "${values.tier}"`,
        );
      }
      const days = values.days !== undefined ? positiveInt("days", values.days, 1) : 7;
      return { kind: "s3tool", command, location: positionals[0]!, tier, days, ...s3, ...outFlags };
    }
    case "restore-status":
      need(1, "one S3 location");
      return { kind: "s3tool", command, location: positionals[0]!, ...s3, ...outFlags };
    case "versioning": {
      if (positionals.length < 1 || positionals.length > 2) {
        need(1, "an S3 location and optionally on or off");
      }
      const word = positionals[1]?.toLowerCase();
      if (word !== undefined && word !== "on" && word !== "off") {
        throw new UsageError(`"ferry versioning" takes on or off, not "${positionals[1]}"`);
      }
      return {
        kind: "s3tool",
        command,
        location: positionals[0]!,
        ...(word !== undefined ? { set: word === "on" } : {}),
        ...s3,
        ...outFlags,
      };
    }
    case "versions":
      need(2, "an S3 location and a path in it");
      return {
        kind: "s3tool",
        command,
        location: positionals[0]!,
        path: positionals[1]!,
        ...s3,
        ...outFlags,
      };
    case "get": {
      need(2, "an S3 location and a path in it");
      if (!values["version-id"]) {
        throw new UsageError(`"ferry get" needs --version-id <id> (see "ferry versions")`);
      }
      return {
        kind: "s3tool",
        command,
        location: positionals[0]!,
        path: positionals[1]!,
        versionId: values["version-id"],
        ...(values.output !== undefined ? { output: values.output } : {}),
        ...s3,
        ...outFlags,
      };
    }
  }
  if (command === "check") {
    if (positionals.length !== 2) {
      throw new UsageError(
        `"ferry check" takes two locations, <from> and <to>; got ${positionals.length}: run "ferry check --help"`,
      );
    }
    return {
      kind: "check",
      command,
      from: positionals[0]!,
      to: positionals[1]!,
      exclude: values.exclude ?? [],
      ...outFlags,
      ...s3,
    };
  }
  const common = {
    dryRun: command === "status" || !!values["dry-run"] || !!values.scan,
    checksum: !!values.checksum,
    exclude: values.exclude ?? [],
    force: !!values.force,
    yes: !!values.yes,
    watch: !!values.watch,
    transfers: values.transfers ? positiveInt("transfers", values.transfers, 1) : 16,
    ...outFlags,
    ...s3,
    ...(values["max-delete"] !== undefined
      ? { maxDelete: parseMaxDelete(values["max-delete"]) }
      : {}),
    ...(values.interval !== undefined
      ? { interval: positiveInt("interval", values.interval, 1) }
      : {}),
    ...(values.poll !== undefined ? { poll: positiveInt("poll", values.poll, 1) } : {}),
    ...(values["log-file"] !== undefined ? { logFile: values["log-file"] } : {}),
    ...(values.state !== undefined ? { state: values.state } : {}),
  };
  if (common.poll !== undefined && !common.watch) {
    throw new UsageError(`Option --poll goes with --watch (how often to look at remote locations)`);
  }
  if (common.watch && common.dryRun) {
    throw new UsageError(`Options --watch and --dry-run contradict each other: pick one`);
  }
  if (command === "mirror") {
    if (values.file !== undefined && positionals.length > 0) {
      throw new UsageError(
        `"ferry mirror" takes its locations from the command line or from --file, not both`,
      );
    }
    if (values.file === undefined && positionals.length === 1) {
      throw new UsageError(
        `"ferry mirror" needs at least two locations; got 1: run "ferry mirror --help"`,
      );
    }
    return {
      kind: "mirror",
      command,
      locations: positionals,
      ...(values.file !== undefined ? { file: values.file } : {}),
      ...common,
    };
  }
  if (command !== "sync" && command !== "status") {
    throw new UsageError(`"ferry ${command}" is not available in this version of ferry yet`);
  }
  if (positionals.length !== 2) {
    throw new UsageError(
      `"ferry ${command}" takes two locations, <from> and <to>; got ${positionals.length}: run "ferry ${command} --help"`,
    );
  }
  if (values.interval !== undefined && command === "status") {
    throw new UsageError(`"ferry status" does not take --interval`);
  }
  return {
    kind: "sync",
    command,
    from: positionals[0]!,
    to: positionals[1]!,
    delete: !!values.delete,
    ...common,
  };
}
