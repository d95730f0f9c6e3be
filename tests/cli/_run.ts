/**
 * Run the real `ferry` command in a child process, as a user would.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const CLI = fromFileUrl(new URL("../../cli.ts", import.meta.url));
const CONFIG = fromFileUrl(new URL("../../deno.json", import.meta.url));

/**
 * The arguments that make `deno` run ferry from the source tree, as every test that starts
 * ferry as a child process does (with the project's config, never downloading anything).
 *
 * @param args Arguments after `ferry`.
 * @param permissions Deno permission flags (default `-A`).
 * @returns Arguments for `Deno.execPath()`.
 */
export function ferryArgs(args: string[], permissions: string[] = ["-A"]): string[] {
  return ["run", ...permissions, "--config", CONFIG, "--cached-only", CLI, ...args];
}

let stateHome: string | undefined;

/**
 * The environment every ferry a test starts runs with: no colour, and the platform's state
 * folder (where a mirror keeps its state, and a job without a local folder) in a temporary
 * folder of this test process, removed when it ends: a test never writes into the user's own
 * `~/.local/state`. A test that looks into that folder sets `XDG_STATE_HOME` itself.
 *
 * @param env What the test sets; it wins.
 * @returns The environment.
 */
export function testEnv(env: Record<string, string> = {}): Record<string, string> {
  if (stateHome === undefined) {
    const dir = Deno.makeTempDirSync({ prefix: "ferry-state-home-" });
    stateHome = dir;
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone already */ }
    });
  }
  return { NO_COLOR: "1", XDG_STATE_HOME: stateHome, LOCALAPPDATA: stateHome, ...env };
}

/** What a run printed and returned. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@linkcode ferry}. */
export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Run as an unprivileged user (for permission tests when the tests run as root). */
  asNobody?: { denoDir: string; deno: string };
  stdin?: string;
  /** Deno permission flags instead of -A. */
  permissions?: string[];
}

/**
 * Run `ferry` with arguments.
 *
 * @param args Arguments after `ferry`.
 * @param options Working folder, environment, user.
 * @returns Exit code and output.
 */
export async function ferry(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const deno = options.asNobody?.deno ?? Deno.execPath();
  const perms = options.permissions ?? ["-A"];
  const base = [deno, ...ferryArgs(args, perms)];
  const argv = options.asNobody
    ? [
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "env",
      `DENO_DIR=${options.asNobody.denoDir}`,
      "HOME=/tmp",
      // A folder nobody may write to, as the state folder was before tests set their own.
      "XDG_STATE_HOME=/tmp/.local/state",
      ...base,
    ]
    : base;
  const cmd = new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    cwd: options.cwd ?? Deno.cwd(),
    env: testEnv(options.env),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * A temporary folder with `src/` made from a map of files.
 *
 * @param files Relative path → content.
 * @returns The folder and its cleanup.
 */
export async function scratch(files: Record<string, string> = {}): Promise<{
  dir: string;
  src: string;
  dst: string;
  cleanup: () => Promise<void>;
}> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-cli-" });
  const src = join(dir, "src");
  await Deno.mkdir(src);
  for (const [rel, text] of Object.entries(files)) {
    const p = join(src, ...rel.split("/"));
    await Deno.mkdir(join(p, ".."), { recursive: true });
    await Deno.writeTextFile(p, text);
  }
  return { dir, src, dst: join(dir, "dst"), cleanup: () => Deno.remove(dir, { recursive: true }) };
}

/**
 * Every file below a folder, as sorted relative paths (ferry's own folder left out).
 *
 * @param root The folder.
 * @returns Relative paths.
 */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(rel ? join(root, rel) : root)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === ".ferry") continue;
      if (e.isDirectory) walk(r);
      else out.push(r);
    }
  };
  walk("");
  return out.sort();
}

/**
 * Deno's cache folder, for runs that change HOME (under which it lives by default).
 *
 * @returns Its path.
 */
export async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/**
 * Start a `ferry` that keeps running (`--interval`, `--watch`), its output read as it comes.
 *
 * @param args Arguments after `ferry`.
 * @param env More environment variables.
 * @returns What it printed so far, and a way to stop it (SIGINT) that gives its exit code.
 */
export function running(args: string[], env: Record<string, string> = {}): {
  stderr: () => string;
  stdout: () => string;
  stop: () => Promise<number>;
} {
  const child = new Deno.Command(Deno.execPath(), {
    args: ferryArgs(args),
    env: testEnv(env),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let err = "";
  let out = "";
  const reading = Promise.all([
    (async () => {
      for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) err += c;
    })(),
    (async () => {
      for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) out += c;
    })(),
  ]);
  return {
    stderr: () => err,
    stdout: () => out,
    async stop(): Promise<number> {
      try {
        child.kill("SIGINT");
      } catch { /* it ended by itself: its code and stderr tell why */ }
      const s = await child.status;
      await reading;
      return s.code;
    },
  };
}

/**
 * Run ferry under `script`, on a pseudo-terminal, with keys to type.
 *
 * @param args Arguments after `ferry`.
 * @param cwd The working folder (default: the tests').
 * @returns The child, what the terminal showed so far, a way to type, and its end.
 */
export function onTerminal(args: string[], cwd?: string): {
  child: Deno.ChildProcess;
  screen: () => string;
  type: (keys: string) => Promise<void>;
  done: () => Promise<number>;
} {
  const cmd = [Deno.execPath(), ...ferryArgs(args)].map((a) => `'${a.replaceAll("'", "'\\''")}'`)
    .join(" ");
  const child = new Deno.Command("script", {
    args: ["-qefc", `exec ${cmd}`, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: testEnv({ TERM: "dumb" }),
    ...(cwd ? { cwd } : {}),
  }).spawn();
  const writer = child.stdin.getWriter();
  let screen = "";
  const reading = (async () => {
    for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) screen += c;
  })();
  return {
    child,
    screen: () => screen,
    type: (keys: string) => writer.write(new TextEncoder().encode(keys)),
    async done() {
      const status = await child.status;
      await reading.catch(() => {});
      await writer.close().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      return status.code;
    },
  };
}

/**
 * The summary of a `--json` run: its last event of that kind.
 *
 * @param stdout What the run printed.
 * @returns The summary's counts.
 */
export function summaryOf(stdout: string): Record<string, number> {
  const events = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const s = events.findLast((e) => e.event === "summary");
  if (!s) throw new Error(`no summary in: ${stdout.slice(-300)}`);
  return s;
}
