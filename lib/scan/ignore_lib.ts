/**
 * The gitignore matcher (npm `ignore`), behind a module of ours that `loadFilter` loads lazily:
 * a run without exclusions never fetches it (see lib/lazy.ts).
 *
 * @module
 */
export { default as ignore } from "ignore";
