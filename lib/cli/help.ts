/**
 * Help texts. Kept as data so that tests can snapshot them. The backends' options and their
 * help lines come from their kinds (lib/backends/registry.ts).
 *
 * @module
 */
import { kindsWithHelp } from "../backends/registry.ts";

/** The version printed by `--version`; kept in step with deno.json by a test. */
export const VERSION = "0.1.0";

/** The options of each backend kind, block by block (lib/backends/registry.ts). */
const BACKEND_OPTIONS = kindsWithHelp().map((kind) => {
  const lines = kind.help?.title !== undefined ? [kind.help.title] : [];
  for (const flag of kind.flags ?? []) {
    const [first, ...more] = flag.help.split("\n");
    lines.push(`  ${flag.usage.padEnd(22)}  ${first}`, ...more.map((l) => " ".repeat(26) + l));
  }
  if (kind.help?.note !== undefined) lines.push(kind.help.note);
  return lines.join("\n");
}).join("\n\n");

const COMMON = `Common options:
  -v, -vv                 more detail (each file; then debug notes and stack traces)
  -q                      errors only
  --json                  one JSON object per line on stdout, last a {"event":"summary",…} line
  --log-file <file|dir>   also log to this file (a folder gets a timestamped file)
  --state <file>          state database (default: sync, .ferry/state.db in a local source;
                          otherwise, and for mirror, the platform's state folder, by job)
  -h, --help              this help
  -V, --version           print the version`;

/** Help for each command, and the overview. */
export const HELP: Record<string, string> = {
  main: `ferry ${VERSION} — keep files in step between folders, ZIP archives, FTP and S3

Usage: ferry <command> [options]

Commands:
  sync <from> <to>        one-way: make <to> hold what <from> holds
  status <from> <to>      what sync would do now, counted and listed; changes nothing
  check <from> <to>       compare both sides by SHA-256, report every difference; exit 1 if any
  mirror <loc> <loc>…     keep two or more locations identical, both ways
  restore <s3-location>   ask S3 to thaw archived objects (Glacier, Deep Archive, IT archive)
  restore-status <s3-location>   each archived object's restore progress
  versioning <s3-location> [on|off]   show or set bucket versioning
  versions <s3-location> <path>       list a file's stored versions
  get <s3-location> <path> --version-id <id> [-o <file>]   fetch one past version
  trash list|restore|purge <location> [path]   what ferry deleted or overwrote, kept at
                          that location for --trash-days (default 30); restore puts it back

Locations: ./dir, /abs/dir, C:\\dir, folder:/dir, file:///dir (local folders);
zip:path/archive.zip; ftp://user[:pass]@host[:port]/path, ftps://… (explicit TLS) and
ftp:user:pass@host/path; s3://bucket[/prefix] and wasabi://bucket[/prefix].

Exit codes: 0 done; 1 some files failed (each listed); 2 bad usage or input;
3 refused by a safety limit; 130 interrupted.

Run "ferry <command> --help" for a command's options.

${COMMON}`,
  sync: `Usage: ferry sync <from> <to> [options]

Make <to> hold what <from> holds. Files are compared by size and modification time
(or SHA-256 with --checksum); renames in <from> are done as renames in <to>.

Options:
  --delete                also delete in <to> what <from> no longer has
  -n, --dry-run, --scan   print the plan, change nothing
  --checksum              compare by SHA-256, not size + mtime
  --exclude <glob>        skip paths (repeatable, gitignore syntax); .ferryignore at a
                          root is honoured too
  --max-delete <N|N%>     refuse a run that would delete more (default 50%)
  --force                 override --max-delete and the empty-source guard
  --yes                   don't ask before deleting (asking happens only on a terminal)
  --interval <seconds>    run again every N seconds until stopped (never asks before
                          deleting: --max-delete guards a periodic run)
  --watch                 after the first pass, follow changes as they happen (a local
                          <from> is watched, a remote one looked at every --poll seconds);
                          a full pass every --interval seconds (default 600)
  --poll <seconds>        with --watch: how often to look at a remote <from> (default 30)
  --transfers <N>         files copied at once (default 16)
  --trash-days <N>        keep what is deleted or overwritten in the location's trash
                          (.ferry/trash/) for N days (default 30; 0 = off)
  --no-trash              delete and overwrite outright (the same as --trash-days 0)
  --trash-max <N%|size>   the most a trash may hold (a share of its location, or 5G):
                          oldest runs go first

${BACKEND_OPTIONS}

${COMMON}`,
  mirror: `Usage: ferry mirror <loc> <loc> [<loc>…] [options]
       ferry mirror --file <list> [options]
       ferry mirror                 (on a terminal: asks for the locations one by one)

Keep two or more locations identical, both ways. Each file is compared with what the
locations last agreed on (kept in the state):
  - changed in one location: the change spreads to all;
  - changed the same way in several: nothing to do;
  - changed differently: the newest modification time wins everywhere, and every other
    version is kept beside it as name.conflict-YYYYMMDD-HHMMSS-<location>.ext (the loser's
    own time, UTC), counted in "conflicts" and never a failure;
  - changed in one, deleted in another: the change wins and comes back;
  - deleted: the deletion spreads where the file was the agreed version, unchanged.
The first run (no state) deletes nothing: it unites all locations, newest wins. Renames
spread as renames. A location that cannot be reached, or is missing or empty while it held
files at the last mirror, sits the round out with a warning (exit 3 if fewer than two are
left) and nothing is deleted for it; once the job has state, a missing location is never
created again. The state lives in the platform's state folder ($XDG_STATE_HOME/ferry,
~/.local/state/ferry, ~/Library/Application Support/ferry, %LOCALAPPDATA%\\ferry), in a
folder of the job's own with its logs, never inside a location. Times further ahead than a
minute count as now, so a machine whose clock runs ahead cannot win every conflict; a losing
version is kept anyway.

Options:
  --file <list>           the locations, one a line ("#" comments; folder:, zip:, ftp:…)
  -n, --dry-run           print the plan, change nothing
  --checksum              compare by SHA-256, not size + mtime
  --exclude <glob>        skip paths (repeatable, gitignore syntax); .ferryignore honoured
  --max-delete <N|N%>     refuse a pass that would delete more in any one location
                          (default 50% of its files)
  --force                 override --max-delete, and let an emptied location spread that
  --yes                   don't ask before deleting (asking happens only on a terminal)
  --interval <seconds>    run again every N seconds until stopped
  --watch                 after the first pass, follow changes as they happen: local
                          folders are watched, other locations looked at every --poll
                          seconds; a full pass every --interval seconds (default 600)
  --poll <seconds>        with --watch: how often to look at remote locations (default 30)
  --transfers <N>         files copied at once (default 16)
  --trash-days <N>        keep what is deleted or overwritten in the location's trash
                          (.ferry/trash/) for N days (default 30; 0 = off)
  --no-trash              delete and overwrite outright (the same as --trash-days 0)
  --trash-max <N%|size>   the most a trash may hold (a share of its location, or 5G):
                          oldest runs go first

${BACKEND_OPTIONS}

${COMMON}`,
  check: `Usage: ferry check <from> <to> [options]

Read both sides and report every file whose content differs, that is missing in <to> or
that only <to> has. Local files are hashed anew (SHA-256); S3 objects ferry wrote carry
their SHA-256, others are downloaded and hashed. Changes nothing; exit 1 when anything
differs.

Options:
  --exclude <glob>        skip paths (repeatable, gitignore syntax)

${BACKEND_OPTIONS}

${COMMON}`,
  status: `Usage: ferry status <from> <to> [options]

Show what "ferry sync <from> <to>" would do now, counted and listed. Changes nothing.
Accepts sync's --delete, --checksum and --exclude to mirror a particular sync.

${BACKEND_OPTIONS}

${COMMON}`,
  restore: `Usage: ferry restore <s3-location> [--tier bulk|standard|expedited] [--days N]

Ask S3 to thaw every object under the location that sits in an archive tier (GLACIER,
DEEP_ARCHIVE, or an Intelligent-Tiering archive tier) and is not thawed or thawing.
Bulk takes 5-48 hours and costs least, standard 3-5 hours, expedited 1-5 minutes.
The thawed copy stays readable for --days (default 7); the next sync then fetches it.

${BACKEND_OPTIONS}

${COMMON}`,
  "restore-status": `Usage: ferry restore-status <s3-location>

List each archived object under the location: archived (not asked for), restoring, or
restored (with the date its thawed copy expires).

${BACKEND_OPTIONS}

${COMMON}`,
  versioning: `Usage: ferry versioning <s3-location> [on|off]

Show the bucket's versioning, or turn it on (every overwrite and delete keeps the old
version) or off (suspended: S3 keeps the versions it has).

${BACKEND_OPTIONS}

${COMMON}`,
  versions: `Usage: ferry versions <s3-location> <path>

List the stored versions of one file, newest first, with delete markers.

${BACKEND_OPTIONS}

${COMMON}`,
  get: `Usage: ferry get <s3-location> <path> --version-id <id> [-o <file>]

Fetch one past version of a file (ids from "ferry versions") into <file>, by default the
file's name in the working folder. Written to a temporary name first, then renamed.

${BACKEND_OPTIONS}

${COMMON}`,
  trash: `Usage: ferry trash list <location> [path-or-glob] [--json]
       ferry trash restore <location> <path-or-glob> [--from TIME] [--to <location>] [--force]
       ferry trash purge <location> [--older-than 7d]

What sync and mirror delete or overwrite is first moved to the trash of the location where
it happens, .ferry/trash/<UTC time of the run>/<path> (never listed, synced or counted as
content), and kept --trash-days (default 30).

  list      each kept version: the run's time, why (deleted or overwritten), size, path
  restore   put the newest kept version of each matching path back, byte for byte and with
            its time; --from TIME picks an older run (a beginning of its time, such as
            2026-12-08 or 2026-12-08T10:15); --to restores into another location (such as
            a sync's source, so that the next sync spreads it). A newer file at the path is
            left alone unless --force (then it goes to the trash itself). A restored file is
            an ordinary change: the next sync or mirror spreads it
  purge     remove kept versions: all, or those older than --older-than (7d, 12h, 30m)

A path names a file or a whole folder; a glob is gitignore-style (*.txt, docs/**).

${BACKEND_OPTIONS}

${COMMON}`,
};
