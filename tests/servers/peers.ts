/**
 * Peer tools from Debian's apt (rclone, aws-cli), for the interop test and the benchmark.
 *
 * @module
 */

/**
 * The Debian-installed program of that name (not a pyenv or npm shim of the same name).
 *
 * @param cmd A program name.
 * @returns Its path, or undefined when it is not installed.
 */
export function debianTool(cmd: string): string | undefined {
  for (const dir of ["/usr/bin", "/usr/local/bin"]) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return `${dir}/${cmd}`;
    } catch { /* not here */ }
  }
  return undefined;
}
