/**
 * The run lock: two runs on the same state never overlap.
 *
 * @module
 */

/** A held lock; release it when the pass ends. */
export interface HeldLock {
  release(): void;
}

/**
 * The run lock's file beside a state database.
 *
 * @param statePath The state database's path.
 * @returns `<statePath>.lock`.
 */
export function lockPathOf(statePath: string): string {
  return statePath + ".lock";
}

/**
 * Try to take the lock beside a state file without waiting.
 *
 * @param statePath The state database's path; the lock is `<statePath>.lock`.
 * @returns The lock, or undefined when another process holds it.
 */
export function tryLock(statePath: string): HeldLock | undefined {
  const file = Deno.openSync(lockPathOf(statePath), { read: true, write: true, create: true });
  let ok: boolean;
  try {
    ok = file.tryLockSync(true);
  } catch (err) {
    file.close();
    throw err;
  }
  if (!ok) {
    file.close();
    return undefined;
  }
  return {
    release() {
      try {
        file.unlockSync();
      } catch {
        // Closing the file releases the lock anyway (and some platforms refuse the unlock).
      } finally {
        file.close();
      }
    },
  };
}
