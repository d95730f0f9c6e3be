/**
 * Error families that the CLI turns into exit codes. Only `cli.ts` maps them; library code
 * throws them and never exits.
 *
 * @module
 */

/** Exit codes of the `ferry` command, as PRODUCT.md fixes them. */
export const ExitCode = {
  ok: 0,
  someFailed: 1,
  usage: 2,
  refused: 3,
  interrupted: 130,
} as const;

/** A mistake in what the user asked for: an unknown flag, a bad location, wrong input. */
export class UsageError extends Error {
  /** `"UsageError"`, or a subclass's name. */
  override name = "UsageError";
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = ExitCode.usage;
  /**
   * Make the error; the CLI prints `message` and exits with {@linkcode ExitCode.usage}.
   *
   * @param message One line saying what is wrong and what to do.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** A location that cannot be opened or read at its root (exit 2). */
export class LocationError extends UsageError {
  /** `"LocationError"`. */
  override name = "LocationError";
}

/** A run refused by a safety limit: `--max-delete`, a missing or empty source root (exit 3). */
export class SafetyError extends Error {
  /** `"SafetyError"`. */
  override name = "SafetyError";
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = ExitCode.refused;
  /**
   * Make the error; the CLI prints `message` and exits with {@linkcode ExitCode.refused}.
   *
   * @param message One line saying what was refused and how to override it, if one can.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The refusal of a source root that does not exist: never read as empty (PRODUCT.md).
 *
 * @param source The source as printed.
 * @returns The error (exit 3).
 */
export function missingSource(source: string): SafetyError {
  return new SafetyError(
    `Source "${source}" does not exist (unplugged drive or unmounted share?): nothing was changed`,
  );
}

/**
 * The refusal for a destination the job synced into before and that is now missing: it is an
 * unplugged drive or an unmounted share far more often than a folder deleted on purpose.
 *
 * @param dst The destination as shown.
 * @param left How many files the last sync left there.
 * @returns The error to throw.
 */
export function missingDestination(dst: string, left: number): SafetyError {
  return new SafetyError(
    `Destination "${dst}" is missing, but the last sync left ${left} file(s) there (unplugged drive or unmounted share?): it is not created again and nothing was changed; run with --force to make it anew`,
  );
}

/** A run that started but could not finish its work (a listing failed mid-run): exit 1. */
export class RunError extends Error {
  /** `"RunError"`. */
  override name = "RunError";
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = ExitCode.someFailed;
  /**
   * Make the error; the CLI prints `message` and exits with {@linkcode ExitCode.someFailed}.
   *
   * @param message One line saying what failed.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A store that does not answer (a connection not taken, or taken and left silent), past its
 * retries: a network fault (the next run may get through), never bad input. The message names
 * the location.
 */
export class StalledError extends Error {
  /** `"StalledError"`. */
  override name = "StalledError";
}

/** A key (relative path) that would escape a location's root or is otherwise unsafe. */
export class UnsafePathError extends RangeError {
  override name = "UnsafePathError";
}

/** Plain words for the file errors Deno reports with the OS's message and number. */
const OS_ERRORS: Record<string, string> = {
  AlreadyExists: "something is already there",
  NotADirectory: "a file stands where a folder is needed",
  IsADirectory: "a folder stands where a file is needed",
  NotFound: "not found",
  PermissionDenied: "permission denied",
  Busy: "in use by another program",
  WriteZero: "the disk took no more data",
  UnexpectedEof: "the file ended early",
};

/**
 * Describe an error in one line for a user: the message, with the OS error code where one is
 * known.
 *
 * @param err Anything thrown.
 * @returns A single-line description.
 */
export function describeError(err: unknown): string {
  // The OS's words for a file error ("File exists (os error 17): mkdir '/x'") in plain ones.
  const os = err instanceof Error ? /^.*? \(os error \d+\)(?:: (.*))?$/s.exec(err.message) : null;
  const plain = err instanceof Error ? OS_ERRORS[err.name] : undefined;
  if (os && plain) return `${plain}${os[1] ? ` (${os[1].split("\n")[0]})` : ""}`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const msg = err.message.split("\n")[0] ?? err.name;
    return typeof code === "string" && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}

/**
 * What was found at a target instead of what the plan expected: the file is skipped (left
 * as it is), not failed.
 */
export class TargetChanged extends Error {
  override name = "TargetChanged";
}

/** The source changed while it was copied, twice in a row: nothing was written. */
export class SourceChanged extends Error {
  override name = "SourceChanged";
}

/** The copy was stopped (Ctrl-C, SIGTERM) before it finished: nothing was written. */
export class CopyStopped extends Error {
  override name = "CopyStopped";
  constructor() {
    super("interrupted before it was complete; nothing was written");
  }
}
