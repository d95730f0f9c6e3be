/**
 * The first stage of a pass: each member's root opened (and, where the kind says so, made),
 * the ids it was known by before carried over, and what a killed run left put right.
 *
 * @module
 */
import type { Pass } from "./kind.ts";

/**
 * Open member `i` (its capabilities are then what it found: a FAT stick's 2 s times, names
 * without case), and carry over what the state knew of it under a former id.
 *
 * @param pass The pass.
 * @param i The member.
 * @param writes Whether the pass writes to it (else it is only read).
 * @returns Whether its root is there; what opening threw is kept in `pass.exists` and thrown.
 */
export async function openMember(pass: Pass, i: number, writes: boolean): Promise<boolean> {
  const b = pass.members[i]!;
  try {
    pass.exists[i] = (await b.open(writes ? pass.writes : "read")).exists;
  } catch (err) {
    pass.exists[i] = err;
    throw err;
  }
  adoptFormer(pass, i);
  return pass.exists[i] === true;
}

/**
 * Make member `i`'s root (not in a dry run) and open it again: a new folder gets its id (its
 * marker) now, and what the state knew of it by its path is carried over.
 *
 * @param pass The pass.
 * @param i The member.
 */
export async function createMember(pass: Pass, i: number): Promise<void> {
  if (pass.options.dryRun) return;
  const b = pass.members[i]!;
  await b.createRoot();
  pass.exists[i] = (await b.open(pass.writes)).exists;
  adoptFormer(pass, i);
  pass.options.sink.emit({ event: "note", level: "info", message: `Created "${b.display}"` });
}

/** A location known by another id before (a folder by its path, before its marker) keeps
 * what the state knew of it. */
function adoptFormer(pass: Pass, i: number): void {
  if (pass.options.dryRun) return;
  const b = pass.members[i]!;
  for (const f of b.formerIds ?? []) pass.options.state?.adoptLocation(f, b.id);
}

/**
 * What a killed run left in the members a pass writes (open multipart uploads, FTP temporary
 * names and a swap's window) is put right before anything is listed.
 *
 * @param pass The pass.
 * @param writes Whether the pass writes to a member.
 */
export async function recoverAll(pass: Pass, writes: (i: number) => boolean): Promise<void> {
  const { state, dryRun, sink } = pass.options;
  if (!state || dryRun) return;
  for (const [i, b] of pass.members.entries()) {
    if (!writes(i) || pass.out[i] || pass.exists[i] !== true || !b.recoverUploads) continue;
    const n = await b.recoverUploads(state).catch(() => 0);
    if (n > 0) {
      sink.emit({
        event: "note",
        level: "info",
        message: `Put right ${n} unfinished upload(s) of an earlier run in "${b.display}"`,
      });
    }
  }
}
