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

/**
 * Environment that configures an rclone remote named `s3r` for an s3rver endpoint. rclone 1.60
 * fails on S3 when AWS_CA_BUNDLE is set, so it is blanked.
 *
 * @param endpoint The s3rver endpoint.
 * @returns Environment variables for rclone.
 */
export function rcloneS3rverEnv(endpoint: string): Record<string, string> {
  return {
    RCLONE_CONFIG_S3R_TYPE: "s3",
    RCLONE_CONFIG_S3R_PROVIDER: "Other",
    RCLONE_CONFIG_S3R_ENDPOINT: endpoint,
    RCLONE_CONFIG_S3R_ACCESS_KEY_ID: "S3RVER",
    RCLONE_CONFIG_S3R_SECRET_ACCESS_KEY: "S3RVER",
    RCLONE_CONFIG_S3R_FORCE_PATH_STYLE: "true",
    AWS_CA_BUNDLE: "",
  };
}
