/**
 * `deno task test`'s test run: `deno test` with the arguments given, then, when tests were
 * skipped, which ones and why (each test module records its reasons through
 * `tests/_skips.ts`), and the one command that installs what they need. Exits with `deno
 * test`'s code.
 *
 * A fresh machine ended `17 ignored` without a word: the ZIP oracles, the FTP daemons (FTPS
 * with them) and ZIP64 had not run, and nothing said so.
 *
 * @module
 */
import type { SkipReason } from "../tests/_skips.ts";

/** What installs every tool the tests use, as CI does (Debian's apt, as root). */
export const INSTALL = ".ci/install";

if (import.meta.main) await main();

/** Run `deno test` with this script's arguments, report what was skipped, exit with its code. */
async function main(): Promise<never> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-test-run-" });
  const junit = `${dir}/junit.xml`;
  const reasons = `${dir}/skips.jsonl`;
  let code = 1;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", `--junit-path=${junit}`, ...Deno.args],
      env: { FERRY_TEST_SKIPS: reasons },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    // Ctrl-C reaches the test run (same process group); this script waits for its end.
    const onSignal = () => {};
    Deno.addSignalListener("SIGINT", onSignal);
    try {
      code = (await child.status).code;
    } finally {
      Deno.removeSignalListener("SIGINT", onSignal);
    }
    let xml = "";
    try {
      xml = Deno.readTextFileSync(junit);
    } catch { /* the run ended before writing it */ }
    let recorded: SkipReason[] = [];
    try {
      recorded = Deno.readTextFileSync(reasons).split("\n").filter(Boolean).map((l) =>
        JSON.parse(l)
      );
    } catch { /* nothing skipped */ }
    const report = skipReport(xml, recorded);
    if (report) console.log(report);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  Deno.exit(code);
}

/**
 * The lines that say which tests were skipped and why.
 *
 * @param junitXml The run's JUnit report (`deno test --junit-path`).
 * @param recorded The reasons test modules gave.
 * @returns The report, or "" when nothing was skipped.
 */
export function skipReport(junitXml: string, recorded: SkipReason[]): string {
  const byModule = new Map<string, { tests: string[]; why: Set<string> }>();
  const entry = (module: string) => {
    let e = byModule.get(module);
    if (!e) byModule.set(module, e = { tests: [], why: new Set() });
    return e;
  };
  const testcase = /<testcase name="([^"]*)" classname="([^"]*)"[^>]*>\s*<skipped\s*\/>/g;
  let count = 0;
  for (const m of junitXml.matchAll(testcase)) {
    entry(m[2]!.replace(/^\.\//, "")).tests.push(unescapeXml(m[1]!));
    count++;
  }
  // A module may also leave a suite out altogether (an FTP daemon's): its reason is listed.
  for (const r of recorded) entry(r.module).why.add(r.why);
  if (byModule.size === 0) return "";
  const lines = [
    "",
    `Skipped on this machine: ${count} test(s)${
      [...byModule.values()].some((e) => e.tests.length === 0) ? ", and the suites below" : ""
    }`,
  ];
  for (const [module, e] of [...byModule].sort(([a], [b]) => a.localeCompare(b))) {
    const why = e.why.size > 0 ? [...e.why].join("; ") : "no reason given";
    lines.push(`  ${module}: ${why}`);
    for (const t of e.tests) lines.push(`    - ${t}`);
  }
  lines.push(
    `To run them, install what CI installs (Debian or Ubuntu; the FTP daemons run only as root): ` +
      `sudo ${INSTALL}`,
  );
  return lines.join("\n");
}

function unescapeXml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
