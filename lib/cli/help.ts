/**
 * Help texts. Kept as data so that tests can snapshot them.
 *
 * @module
 */

/** The version printed by `--version`; kept in step with deno.json by a test. */
export const VERSION = "0.1.0";

const COMMON = `Common options:
  -v, -vv                 more detail (each file; then debug notes and stack traces)
  -q                      errors only
  --json                  one JSON object per line on stdout, last a {"event":"summary",…} line
  --log-file <file|dir>   also log to this file (a folder gets a timestamped file)
  --state <file>          state database (default: .ferry/state.db at the first local folder)
  -h, --help              this help
  -V, --version           print the version`;

/** Help for each command, and the overview. */
export const HELP: Record<string, string> = {
  main: `ferry ${VERSION} — keep files in step between folders, ZIP archives, FTP and S3

Usage: ferry <command> [options]

Commands:
  sync <from> <to>        one-way: make <to> hold what <from> holds
  status <from> <to>      what sync would do now, counted and listed; changes nothing
  mirror <loc> <loc>…     keep locations identical both ways (not in this version yet)

Locations: ./dir, /abs/dir, C:\\dir, folder:/dir, file:///dir (local folders).
zip:, ftp://, ftps://, s3:// and wasabi:// are parsed but not in this version yet.

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
  --interval <seconds>    run again every N seconds until stopped
  --transfers <N>         files copied at once (default 16)

${COMMON}`,
  status: `Usage: ferry status <from> <to> [options]

Show what "ferry sync <from> <to>" would do now, counted and listed. Changes nothing.
Accepts sync's --delete, --checksum and --exclude to mirror a particular sync.

${COMMON}`,
};
