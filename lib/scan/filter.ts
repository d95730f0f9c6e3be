/**
 * Exclusion rules: `--exclude` globs and `.ferryignore` files, both in gitignore syntax.
 *
 * @module
 */
import ignore from "ignore";

/** Decides whether a key is excluded; `isDir` lets folder-only patterns (`build/`) match. */
export type ExcludeFn = (key: string, isDir: boolean) => boolean;

/**
 * Build a matcher from gitignore-style patterns.
 *
 * @param patterns Lines of gitignore syntax (comments and blank lines allowed).
 * @returns A function that is true for excluded keys; never true when there are no patterns.
 * @example Exclude logs and a build folder
 * ```ts
 * import { assertEquals } from "node:assert/strict";
 * const skip = makeFilter(["*.log", "build/"]);
 * assertEquals(skip("a/x.log", false), true);
 * assertEquals(skip("build", true), true);
 * assertEquals(skip("a/x.txt", false), false);
 * ```
 */
export function makeFilter(patterns: readonly string[]): ExcludeFn {
  if (patterns.length === 0) return () => false;
  const ig = ignore({ allowRelativePaths: true }).add([...patterns]);
  return (key, isDir) => key !== "" && ig.ignores(isDir ? key + "/" : key);
}

/**
 * Split the text of a `.ferryignore` file into patterns.
 *
 * @param text The file's content.
 * @returns Its non-empty, non-comment lines.
 */
export function parseIgnoreFile(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.startsWith("#"));
}
