/**
 * `deno task test`'s run (scripts/test.ts): after the tests, the skipped ones with their reasons
 * and the command that installs what they need; its exit code is the tests'.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { INSTALL, skipReport } from "../scripts/test.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function run(env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/test.ts", "-A", "--no-check", "tests/testdata/skipping.ts"],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task test names each skipped test and why, and the command that installs what they need", async () => {
  const r = await run();
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /1 passed \| 0 failed \| 1 ignored/);
  const report = r.stdout.slice(r.stdout.indexOf("Skipped on this machine"));
  assert.equal(
    report.trim(),
    [
      "Skipped on this machine: 1 test(s)",
      "  tests/testdata/skipping.ts: ferry-no-such-program is not installed",
      "    - needs a program no machine has",
      "To run them, install what CI installs (Debian or Ubuntu; the FTP daemons run only as root): " +
      `sudo ${INSTALL}`,
    ].join("\n"),
  );
  assert.ok(Deno.statSync(`${ROOT}/${INSTALL}`).isFile, `${INSTALL} exists`);
});

Deno.test("deno task test exits with the tests' code", async () => {
  const r = await run({ FERRY_FIXTURE_FAIL: "1" });
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /Skipped on this machine: 1 test/);
});

Deno.test("skipReport() lists a module that left a suite out without ignoring a test, and says nothing when nothing was skipped", () => {
  assert.equal(skipReport("<testsuites></testsuites>", []), "");
  const report = skipReport("", [{
    module: "tests/backends/ftp_test.ts",
    why: "vsftpd is missing",
  }]);
  assert.match(
    report,
    /0 test\(s\), and the suites below\n {2}tests\/backends\/ftp_test\.ts: vsftpd is missing\n/,
  );
});
