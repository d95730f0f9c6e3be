/**
 * The function-length gate of `deno task ok`: no function in lib/ over 120 lines, except the
 * ones listed in scripts/fn_length_allow.json, each of which may not grow past its listed length.
 *
 * How it counts: every function with a body (declarations, methods, constructors, accessors,
 * arrow functions and function expressions), parsed by the TypeScript compiler, from the line
 * its code starts on (its JSDoc not included) to the line of its closing brace, both included;
 * a nested function counts in its parent's lines and on its own. A function is named by the
 * file and its enclosing classes and functions: `lib/sync.ts:syncPass`,
 * `lib/job.ts:Job.#passNow`, `lib/x.ts:outer.(anonymous)` (a second one of a name gets `#2`).
 *
 * TypeScript is loaded by a computed specifier, so `deno check` does not put it in deno.lock,
 * and the task runs this with `--no-lock`: a run of ferry from source never fetches it.
 *
 * Usage: `deno run --no-lock --allow-read --allow-env scripts/fn_length.ts [--allow FILE]
 * [--top N] [PATH...]` (default: `lib/`, and the allow-list beside this script); exits 1 on any
 * finding. `--top N` also prints the N longest functions (a structure's before and after).
 *
 * @module
 */
import { posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Lines a function may have, unless the allow-list says otherwise. */
export const MAX_LINES = 120;

const TYPESCRIPT = "npm:typescript@5.9.3";

/** The little of the compiler's API this script uses. */
interface TsNode {
  kind: number;
  parent?: TsNode;
  name?: TsNode;
  body?: TsNode;
  getStart(sf: TsSourceFile): number;
  getEnd(): number;
  getText(sf: TsSourceFile): string;
}
interface TsSourceFile extends TsNode {
  getLineAndCharacterOfPosition(pos: number): { line: number };
}
interface Ts {
  createSourceFile(
    name: string,
    text: string,
    target: number,
    setParents: boolean,
    kind: number,
  ): TsSourceFile;
  forEachChild(node: TsNode, f: (child: TsNode) => void): void;
  ScriptTarget: { Latest: number };
  ScriptKind: { TS: number };
  SyntaxKind: Record<string, number>;
}

/** One function's length. */
export interface FunctionLength {
  /** `file:Outer.name`, the file relative to the working directory. */
  name: string;
  /** Lines from its first line of code to its closing brace, both included. */
  lines: number;
}

/**
 * Every function with a body in one source text, with its length in lines.
 *
 * @param ts The TypeScript compiler module.
 * @param file The file's name as it should appear in the result.
 * @param text The source.
 * @returns The functions, in source order.
 */
export function measure(ts: Ts, file: string, text: string): FunctionLength[] {
  const K = ts.SyntaxKind;
  const fnKinds = new Set(
    [
      "FunctionDeclaration",
      "MethodDeclaration",
      "Constructor",
      "GetAccessor",
      "SetAccessor",
      "ArrowFunction",
      "FunctionExpression",
    ].map((k) => K[k]),
  );
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const line = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const out: FunctionLength[] = [];
  const seen = new Map<string, number>();
  const nameOf = (n: TsNode): string => {
    if (n.kind === K.Constructor) return "constructor";
    if (n.name) return n.name.getText(sf);
    const p = n.parent;
    const named = p && [K.VariableDeclaration, K.PropertyAssignment, K.PropertyDeclaration]
      .includes(p.kind);
    return named && p.name ? p.name.getText(sf) : "(anonymous)";
  };
  const visit = (n: TsNode, scope: string[]) => {
    let inner = scope;
    if (fnKinds.has(n.kind) && n.body) {
      let name = `${file}:${[...scope, nameOf(n)].join(".")}`;
      const count = (seen.get(name) ?? 0) + 1;
      seen.set(name, count);
      if (count > 1) name += `#${count}`;
      out.push({ name, lines: line(n.getEnd()) - line(n.getStart(sf)) + 1 });
      inner = [...scope, nameOf(n)];
    } else if ((n.kind === K.ClassDeclaration || n.kind === K.ClassExpression) && n.name) {
      inner = [...scope, n.name.getText(sf)];
    }
    ts.forEachChild(n, (c) => visit(c, inner));
  };
  visit(sf, []);
  return out;
}

/**
 * Compare lengths with the limit and the allow-list.
 *
 * @param found Every function measured.
 * @param allowed Longer functions allowed for now, by name, with the most lines each may have.
 * @returns Problems (each one line; none: the gate passes) and notes (lengths of the listed ones).
 */
export function judge(
  found: readonly FunctionLength[],
  allowed: Readonly<Record<string, number>>,
): { problems: string[]; notes: string[] } {
  const problems: string[] = [];
  const notes: string[] = [];
  const byName = new Map(found.map((f) => [f.name, f.lines]));
  for (const f of found) {
    const limit = allowed[f.name];
    if (limit === undefined) {
      if (f.lines > MAX_LINES) {
        problems.push(`${f.name} has ${f.lines} lines, over ${MAX_LINES}: split it`);
      }
    } else if (f.lines > limit) {
      problems.push(`${f.name} has ${f.lines} lines, listed at ${limit}: it may not grow`);
    }
  }
  for (const [name, limit] of Object.entries(allowed)) {
    const lines = byName.get(name);
    if (lines === undefined || lines <= MAX_LINES) {
      problems.push(
        `${name} is listed (${limit} lines) but ${
          lines === undefined ? "no longer found" : `now has ${lines}`
        }: take it off the allow-list`,
      );
    } else {
      notes.push(
        `  ${name}: ${lines} lines (listed ${limit})${lines < limit ? ", lower its entry" : ""}`,
      );
    }
  }
  return { problems, notes };
}

function* sources(path: string): Generator<string> {
  if (Deno.statSync(path).isFile) {
    if (/\.tsx?$/.test(path) && !path.endsWith(".d.ts")) yield path;
    return;
  }
  const names = [...Deno.readDirSync(path)].map((e) => e.name).sort();
  for (const name of names) yield* sources(`${path}/${name}`);
}

if (import.meta.main) {
  const args = [...Deno.args];
  let allowFile = fileURLToPath(new URL("fn_length_allow.json", import.meta.url));
  const at = args.indexOf("--allow");
  if (at !== -1) {
    allowFile = resolve(args[at + 1] ?? "");
    args.splice(at, 2);
  }
  const topAt = args.indexOf("--top");
  const top = topAt === -1 ? 0 : Number(args.splice(topAt, 2)[1]);
  const roots = args.length > 0 ? args : ["lib"];
  // A computed specifier: `deno check` leaves it out of the module graph (and deno.lock).
  const ts: Ts = (await import(TYPESCRIPT)).default;
  const allowed = JSON.parse(Deno.readTextFileSync(allowFile)) as Record<string, number>;
  const found: FunctionLength[] = [];
  let files = 0;
  for (const root of roots) {
    for (const path of sources(root)) {
      files++;
      const name = relative(Deno.cwd(), resolve(path)).split("\\").join(posix.sep);
      found.push(...measure(ts, name, Deno.readTextFileSync(path)));
    }
  }
  const { problems, notes } = judge(found, allowed);
  if (top > 0) {
    console.log(`The ${top} longest functions:`);
    const longest = [...found].sort((a, b) => b.lines - a.lines).slice(0, top);
    for (const f of longest) console.log(`  ${String(f.lines).padStart(4)}  ${f.name}`);
  }
  console.log(
    `Function length: at most ${MAX_LINES} lines; ${found.length} functions in ${files} files`,
  );
  if (notes.length > 0) {
    console.log(`Longer for now (${relative(Deno.cwd(), allowFile)}), not to grow:`);
    for (const n of notes) console.log(n);
  }
  for (const p of problems) console.error(p);
  if (problems.length > 0) Deno.exit(1);
}
