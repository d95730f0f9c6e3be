/**
 * How the executor tells failures apart: a target that changed since the scan (skipped), an
 * interruption (neither done nor failed), an error that trying again cannot mend, and a
 * location that can no longer be reached.
 *
 * @module
 */
import { CopyStopped, SourceChanged, TargetChanged } from "../errors.ts";

/** A transfer that fails is tried this many times in all (network faults pass). */
export const TRANSFER_ATTEMPTS = 3;
/** This many failures in a row that say the location cannot be reached stop the run. */
export const UNREACHABLE_IN_A_ROW = 3;

/** A transfer cut short because the run was interrupted: not a failure, nothing written. */
export class Interrupted extends Error {
  override name = "Interrupted";
  constructor() {
    super("interrupted before it was complete; nothing was written");
  }
}

/**
 * The old version could not be kept in the trash (a read-only trash, a full disk): the
 * deletion or overwrite it protected was not carried out, and trying again cannot mend it.
 */
export class RetireFailed extends Error {
  override name = "RetireFailed";
}

/** The target is not what the plan saw (re-checked just before the operation): skipped. */
export class Changed extends Error {}

/**
 * Whether an error is (or was caused by) an interruption of the run.
 *
 * @param err What was thrown.
 * @returns True for an {@linkcode Interrupted}, or an error caused by one.
 */
export function isInterruption(err: unknown): boolean {
  for (let e = err, i = 0; e instanceof Error && i < 5; e = e.cause, i++) {
    if (e instanceof Interrupted) return true;
  }
  return false;
}

/**
 * Errors that trying again cannot mend.
 *
 * @param err What was thrown.
 * @returns True when a retry would fail the same way.
 */
export function isFinal(err: unknown): boolean {
  return err instanceof Changed || err instanceof TargetChanged || err instanceof SourceChanged ||
    err instanceof CopyStopped || err instanceof RetireFailed || isInterruption(err) ||
    isDiskFull(err) ||
    err instanceof Deno.errors.PermissionDenied ||
    err instanceof Deno.errors.NotFound || err instanceof Deno.errors.AlreadyExists ||
    err instanceof Deno.errors.IsADirectory || err instanceof Deno.errors.NotADirectory;
}

/**
 * Whether an error says the disk is full (or the user's quota used up): a moment later it is
 * as full, and each retry of each file that did not fit held the run up by 1.5 s.
 */
function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * Whether an error says the other end is gone (refused, unknown host, unreachable, or a store
 * that does not answer and was given up after its retries).
 *
 * @param err What was thrown.
 * @returns True when the location cannot be reached.
 */
export function isUnreachable(err: unknown): boolean {
  // A backend's own error may say so (FTP's "nothing answers at host port N").
  if ((err as { unreachable?: unknown })?.unreachable === true) return true;
  const text = `${(err as { code?: string })?.code ?? ""} ${
    ((err as { cause?: { code?: string } })?.cause)?.code ?? ""
  } ${err instanceof Error ? err.message : String(err)}`;
  return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Connection refused|Cannot reach|does not answer/i
    .test(text);
}
