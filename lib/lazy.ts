/**
 * Modules loaded only when a run needs them, by a specifier the module graph does not follow.
 * Deno installs every npm package of the lockfile as soon as the graph holds one, so a literal
 * `import("./s3.ts")` made `ferry --version` download the AWS SDK on a fresh machine. Loaded
 * through {@linkcode lazyImport}, they are fetched on first use only; `deno compile` includes
 * each by name (scripts/build.ts), and a test checks that every lazy module is in that list.
 * Each backend kind lists its own (`lazy` in lib/backends/kind.ts); this module lists the rest.
 * It imports nothing, so that any module may use it.
 *
 * @module
 */

/** The lazily loaded modules outside any backend kind, relative to the repository root. */
export const LAZY_MODULES = [
  "lib/scan/ignore_lib.ts",
] as const;

/**
 * Import a lazily loaded module by its path from the repository root: one of
 * {@linkcode LAZY_MODULES} or of a backend kind's `lazy` list.
 *
 * @param path The module.
 * @returns The module.
 */
export function lazyImport<T>(path: string): Promise<T> {
  return import(new URL(`../${path}`, import.meta.url).href) as Promise<T>;
}
