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
 * Stop a server started as a child process, and remove its folder.
 *
 * @param child The server.
 * @param dir Its private folder.
 */
export async function stopChild(
  child: Deno.ChildProcess,
  dir: string,
): Promise<void> {
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
