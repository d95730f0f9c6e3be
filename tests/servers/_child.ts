/**
 * What the test servers share: waiting for a server started as a child process to say it is
 * listening, and stopping it.
 *
 * @module
 */

/**
 * Wait until a child's stdout says `word`, then keep draining it (so that the child never
 * blocks on a full pipe).
 *
 * @param child A child with piped stdout.
 * @param word What the server prints once it accepts connections.
 * @param what Names the server in the error.
 * @param ms How long to wait.
 * @throws {Error} When it does not say so in time (the child is killed).
 */
export async function waitForWord(
  child: Deno.ChildProcess,
  word: string,
  what: string,
  ms = 20_000,
): Promise<void> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + ms;
  while (!seen.includes(word) && Date.now() < deadline) {
    const r = await Promise.race([
      reader.read(),
      new Promise<{ done: true; value: undefined }>((res) =>
        setTimeout(
          () => res({ done: true, value: undefined }),
          deadline - Date.now(),
        )
      ),
    ]);
    if (r.done) break;
    seen += r.value;
  }
  if (!seen.includes(word)) {
    child.kill();
    throw new Error(`${what} did not start: ${seen.slice(0, 500)}`);
  }
  (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch { /* closed */ }
  })();
}

/**
 * Every process below `pid` (children, their children, …), read from `/proc`; none elsewhere.
 *
 * @param pid The root of the tree.
 * @returns Their pids.
 */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  try {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
        // "pid (name) state ppid …": the name may hold spaces and parentheses.
        const ppid = Number(
          stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1],
        );
        const list = children.get(ppid) ?? [];
        list.push(Number(e.name));
        children.set(ppid, list);
      } catch { /* gone meanwhile */ }
    }
  } catch {
    return []; // no /proc
  }
  const out: number[] = [];
  const todo = [pid];
  for (let i = 0; i < todo.length && i < 100_000; i++) {
    for (const c of children.get(todo[i]!) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/**
 * Stop a server started as a child process, and remove its folder. A server that forks a
 * process a session (the FTP daemons) has those killed first: a session whose client was
 * killed while the server waited for a data connection would otherwise outlive it, orphaned,
 * until its idle timeout (a hundred of them, 0.6 GB, after one run of the suite).
 *
 * @param child The server.
 * @param dir Its private folder.
 */
export async function stopChild(
  child: Deno.ChildProcess,
  dir: string,
): Promise<void> {
  for (const pid of descendants(child.pid)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  try {
    child.kill("SIGTERM");
  } catch { /* gone */ }
  await child.status;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

/** A free port on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}
