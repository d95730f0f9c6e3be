/**
 * Command-line parsing on `node:util`'s `parseArgs`, with every mistake turned into one
 * clear `UsageError` line.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import type { DeleteLimit } from "../pass/delete_limit.ts";
import type { OpenOptions } from "../backends/open.ts";
import { backendFlags } from "../backends/registry.ts";
import { parseAge, TRASH_DAYS } from "../trash/layout.ts";

/**
 * The backends' options from the command line, common to every command: each backend kind
 * declares its own (`flags` in lib/backends/kind.ts), each sets one of {@linkcode OpenOptions}.
 */
export type BackendFlags = Omit<OpenOptions, "marker" | "askPassword">;

/** The backends' options (the name from when S3 had the only ones). */
export type S3Flags = BackendFlags;

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

/** Parsed options of `ferry trash list|restore|purge`. */
export type TrashArgs =
  & BackendFlags
  & OutputFlags
  & { location: string }
  & (
    | { command: "trash list"; glob?: string }
    | { command: "trash restore"; path: string; from?: string; to?: string; force: boolean }
    | { command: "trash purge"; /** Ms. */ olderThan?: number }
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
  /** Days each location keeps what is deleted or overwritten (0: no trash). */
  trashDays: number;
  /** The most a trash may hold: a share of its location, or bytes. */
  trashMax?: TrashMax;
}

/** `--trash-max`: a share of the location's content, or a size. */
export type TrashMax = { percent: number } | { bytes: number };

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
  | ({ kind: "s3tool" } & S3ToolArgs)
  | ({ kind: "trash" } & TrashArgs);

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
  "trash",
];

/** The options of ferry itself; the backends add theirs (lib/backends/registry.ts). */
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
  tier: { type: "string" },
  days: { type: "string" },
  "version-id": { type: "string" },
  output: { type: "string", short: "o" },
  "trash-days": { type: "string" },
  "no-trash": { type: "boolean" },
  "trash-max": { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  "older-than": { type: "string" },
} as const;

/** Parses ferry's own options, for the type of what it returns. */
const parseOwn = (args: string[]) => parseArgs({ args, options, allowPositionals: true });
/** The parsed values: ferry's own options typed, the backends' by name. */
type Values =
  & ReturnType<typeof parseOwn>["values"]
  & Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Which options each command takes, beyond the common ones and the backends'. */
const COMMON = ["verbose", "quiet", "json", "help", "version"];
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
  "trash-days",
  "no-trash",
  "trash-max",
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
  "trash list": COMMON,
  "trash restore": [...COMMON, "from", "to", "force"],
  "trash purge": [...COMMON, "older-than"],
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
  if (command === "trash") return parseTrashLine(rest);
  const { values, positionals } = parseOptions(command, rest);
  return parseWith(command, values, positionals);
}

/** `ferry trash <list|restore|purge> …`: the word after `trash` names the command. */
function parseTrashLine(rest: readonly string[]): Parsed {
  const [sub, ...args] = rest;
  if (sub === undefined || sub === "-h" || sub === "--help") {
    return { kind: "help", topic: "trash" };
  }
  if (sub !== "list" && sub !== "restore" && sub !== "purge") {
    throw new UsageError(`"ferry trash" takes list, restore or purge, not "${sub}"`);
  }
  const command = `trash ${sub}`;
  const { values, positionals } = parseOptions(command, args);
  return parseWith(command, values, positionals);
}

/** A command's options checked and handed to its parser. */
function parseWith(command: string, values: Values, positionals: string[]): Parsed {
  if (values.help) return { kind: "help", topic: command.startsWith("trash") ? "trash" : command };
  if (values.version) return { kind: "version" };
  const backendOnly = new Set(backendFlags().map((f) => f.name));
  for (const [name, v] of Object.entries(values)) {
    if (v !== undefined && !ALLOWED[command]!.includes(name) && !backendOnly.has(name)) {
      throw new UsageError(
        `Option --${name} does not apply to "ferry ${command}": run "ferry ${command} --help"`,
      );
    }
  }
  if (values.quiet && values.verbose) {
    throw new UsageError(`Options -q and -v contradict each other: pick one`);
  }
  const given: Given = {
    command,
    values,
    positionals,
    flags: {
      verbose: values.verbose?.length ?? 0,
      quiet: !!values.quiet,
      json: !!values.json,
      ...backendFlagsOf(values),
    },
  };
  if (command === "check") return parseCheck(given);
  if (command === "mirror") return parseMirror(given, passOptions(given));
  if (command === "sync" || command === "status") {
    return parseSync(command, given, passOptions(given));
  }
  if (command.startsWith("trash ")) return parseTrash(given);
  return parseS3Tool(given);
}

/** `ferry trash list|restore|purge <location> …`. */
function parseTrash(given: Given): Parsed {
  const { command, values, positionals, flags } = given;
  const location = positionals[0]!;
  switch (command) {
    case "trash list": {
      if (positionals.length < 1 || positionals.length > 2) {
        need(given, 1, "a location and optionally a path or glob");
      }
      const glob = positionals[1] !== undefined ? { glob: positionals[1] } : {};
      return { kind: "trash", command, location, ...glob, ...flags };
    }
    case "trash restore": {
      need(given, 2, "a location and a path or glob in its trash");
      if (positionals[1]!.replace(/^[/.]+|\/+$/g, "") === "") {
        throw new UsageError(
          `"ferry trash restore" needs a path or a glob, not "${positionals[1]}"`,
        );
      }
      return {
        kind: "trash",
        command,
        location,
        path: positionals[1]!,
        force: !!values.force,
        ...(values.from !== undefined ? { from: values.from } : {}),
        ...(values.to !== undefined ? { to: values.to } : {}),
        ...flags,
      };
    }
    default: {
      need(given, 1, "one location");
      // Read before the location is opened: a bad age changes nothing.
      const older = values["older-than"] !== undefined
        ? { olderThan: parseAge(values["older-than"]) }
        : {};
      return { kind: "trash", command: "trash purge", location, ...older, ...flags };
    }
  }
}

/**
 * Parse `--trash-max`.
 *
 * @param v `N%` of the location, or a size (`500M`, `2G`, bytes).
 * @returns The cap.
 * @throws {UsageError} For anything else.
 */
export function parseTrashMax(v: string): TrashMax {
  const m = /^(\d+(?:\.\d+)?)\s*(%|[kKmMgGtT]i?[bB]?|[bB])?$/.exec(v.trim());
  const n = Number(m?.[1]);
  if (!m || (m[2] === "%" && (n <= 0 || n > 100))) {
    throw new UsageError(
      `Option --trash-max takes a share of the location or a size (such as 10% or 5G), not "${v}"`,
    );
  }
  if (m[2] === "%") return { percent: n };
  const unit = (m[2] ?? "b")[0]!.toLowerCase();
  const power = "bkmgt".indexOf(unit);
  return { bytes: Math.floor(n * 1024 ** power) };
}

/** What the command line gave, for the parser of one command. */
interface Given {
  command: string;
  values: Values;
  positionals: string[];
  /** Output flags and the backends' options, common to every command. */
  flags: OutputFlags & BackendFlags;
}

/** The options and positionals after the command, every parser mistake one clear line. */
function parseOptions(command: string, rest: string[]): { values: Values; positionals: string[] } {
  const all: Record<string, { type: "string" | "boolean" }> = { ...options };
  for (const f of backendFlags()) {
    all[f.name] = { type: f.type === "boolean" ? "boolean" : "string" };
  }
  // A value that starts with a dash ("--interval -5") is the option's value, not an option: it
  // gets its own clear line later instead of the parser's "argument is ambiguous".
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const def = a.startsWith("--") ? all[a.slice(2)] : undefined;
    const next = rest[i + 1];
    if (def?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  try {
    const parsed = parseArgs({ args, options: all, allowPositionals: true, strict: true });
    return { values: parsed.values as Values, positionals: parsed.positionals };
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
}

/**
 * The backends' options a command line sets.
 *
 * @param values The parsed options.
 * @returns Each backend option given, by its {@linkcode OpenOptions} name.
 * @throws {UsageError} For a count that is no whole number of at least 1.
 */
function backendFlagsOf(values: Values): BackendFlags {
  const flags: Record<string, unknown> = {};
  for (const f of backendFlags()) {
    const v = values[f.name];
    if (typeof v === "string") flags[f.key] = f.type === "count" ? positiveInt(f.name, v, 1) : v;
    else if (v === true) flags[f.key] = true;
  }
  return flags as BackendFlags;
}

/**
 * The backends' options among a command's parsed options, and nothing else.
 *
 * @param a The parsed options of a command.
 * @returns Each backend option it holds.
 */
export function backendFlagsIn(a: BackendFlags): BackendFlags {
  const flags: Record<string, unknown> = {};
  for (const { key } of backendFlags()) {
    if (a[key] !== undefined && a[key] !== false) flags[key] = a[key];
  }
  return flags as BackendFlags;
}

/** Refuse positionals of the wrong number. */
function need(given: Given, n: number, what: string): void {
  if (given.positionals.length !== n) {
    throw new UsageError(
      `"ferry ${given.command}" takes ${what}; got ${given.positionals.length} argument(s): run "ferry ${given.command} --help"`,
    );
  }
}

/** The S3 tool commands: restore, restore-status, versioning, versions, get. */
function parseS3Tool({ command, values, positionals, flags }: Given): Parsed {
  const given = { command, values, positionals, flags };
  const location = positionals[0]!;
  switch (command) {
    case "restore": {
      need(given, 1, "one S3 location");
      const tiers = { bulk: "Bulk", standard: "Standard", expedited: "Expedited" } as const;
      const tier = tiers[(values.tier ?? "bulk").toLowerCase() as keyof typeof tiers];
      if (!tier) {
        throw new UsageError(
          `Option --tier takes bulk, standard or expedited, not "${values.tier}"`,
        );
      }
      const days = values.days !== undefined ? positiveInt("days", values.days, 1) : 7;
      return { kind: "s3tool", command, location, tier, days, ...flags };
    }
    case "restore-status":
      need(given, 1, "one S3 location");
      return { kind: "s3tool", command, location, ...flags };
    case "versioning": {
      if (positionals.length < 1 || positionals.length > 2) {
        need(given, 1, "an S3 location and optionally on or off");
      }
      const word = positionals[1]?.toLowerCase();
      if (word !== undefined && word !== "on" && word !== "off") {
        throw new UsageError(`"ferry versioning" takes on or off, not "${positionals[1]}"`);
      }
      const set = word !== undefined ? { set: word === "on" } : {};
      return { kind: "s3tool", command, location, ...set, ...flags };
    }
    case "versions":
      need(given, 2, "an S3 location and a path in it");
      return { kind: "s3tool", command, location, path: positionals[1]!, ...flags };
    case "get": {
      need(given, 2, "an S3 location and a path in it");
      if (!values["version-id"]) {
        throw new UsageError(`"ferry get" needs --version-id <id> (see "ferry versions")`);
      }
      return {
        kind: "s3tool",
        command,
        location,
        path: positionals[1]!,
        versionId: values["version-id"],
        ...(values.output !== undefined ? { output: values.output } : {}),
        ...flags,
      };
    }
  }
  throw new UsageError(`"ferry ${command}" is not available in this version of ferry yet`);
}

/** `ferry check <from> <to>`. */
function parseCheck({ values, positionals, flags }: Given): Parsed {
  if (positionals.length !== 2) {
    throw new UsageError(
      `"ferry check" takes two locations, <from> and <to>; got ${positionals.length}: run "ferry check --help"`,
    );
  }
  return {
    kind: "check",
    command: "check",
    from: positionals[0]!,
    to: positionals[1]!,
    exclude: values.exclude ?? [],
    ...flags,
  };
}

/** The options of a pass, which sync, status and mirror share. */
function passOptions({ command, values, flags }: Given) {
  const pass = {
    dryRun: command === "status" || !!values["dry-run"] || !!values.scan,
    checksum: !!values.checksum,
    exclude: values.exclude ?? [],
    force: !!values.force,
    yes: !!values.yes,
    watch: !!values.watch,
    transfers: values.transfers ? positiveInt("transfers", values.transfers, 1) : 16,
    ...flags,
    ...(values["max-delete"] !== undefined
      ? { maxDelete: parseMaxDelete(values["max-delete"]) }
      : {}),
    ...(values.interval !== undefined
      ? { interval: positiveInt("interval", values.interval, 1) }
      : {}),
    ...(values.poll !== undefined ? { poll: positiveInt("poll", values.poll, 1) } : {}),
    ...(values["log-file"] !== undefined ? { logFile: values["log-file"] } : {}),
    ...(values.state !== undefined ? { state: values.state } : {}),
    trashDays: trashDaysOf(values),
    ...(values["trash-max"] !== undefined ? { trashMax: parseTrashMax(values["trash-max"]) } : {}),
  };
  if (pass.poll !== undefined && !pass.watch) {
    throw new UsageError(`Option --poll goes with --watch (how often to look at remote locations)`);
  }
  if (pass.watch && pass.dryRun) {
    throw new UsageError(`Options --watch and --dry-run contradict each other: pick one`);
  }
  return pass;
}

/** `--trash-days N` (default 30) or `--no-trash` (0). */
function trashDaysOf(values: Values): number {
  if (values["no-trash"] && values["trash-days"] !== undefined) {
    throw new UsageError(`Options --no-trash and --trash-days contradict each other: pick one`);
  }
  if (values["no-trash"]) return 0;
  return values["trash-days"] !== undefined
    ? positiveInt("trash-days", values["trash-days"], 0)
    : TRASH_DAYS;
}

/** `ferry mirror <loc> <loc>…` or `--file`. */
function parseMirror({ values, positionals }: Given, pass: ReturnType<typeof passOptions>): Parsed {
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
    command: "mirror",
    locations: positionals,
    ...(values.file !== undefined ? { file: values.file } : {}),
    ...pass,
  };
}

/** `ferry sync <from> <to>` and `ferry status <from> <to>`. */
function parseSync(
  command: "sync" | "status",
  { values, positionals }: Given,
  pass: ReturnType<typeof passOptions>,
): Parsed {
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
    ...pass,
  };
}
