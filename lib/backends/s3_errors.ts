/**
 * S3 errors in one line a user can act on.
 *
 * @module
 */

interface S3LikeError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
  cause?: unknown;
}

import { StalledError } from "../errors.ts";

/**
 * Whether a request timed out: no connection, or a connection that went silent (the SDK's
 * `TimeoutError`, a socket's `ETIMEDOUT`), or one given up after such timeouts.
 *
 * @param err Anything thrown by the SDK.
 * @returns Whether it is a stall.
 */
export function isStall(err: unknown): boolean {
  const e = (err ?? {}) as S3LikeError;
  return err instanceof StalledError || e.name === "TimeoutError" || e.code === "ETIMEDOUT" ||
    (e.cause as S3LikeError | undefined)?.code === "ETIMEDOUT";
}

/**
 * The error's code: the S3 code, the Node network code, or the HTTP status.
 *
 * @param err Anything thrown by the SDK.
 * @returns A code such as `NoSuchBucket`, `ECONNREFUSED` or `403`.
 */
export function s3ErrorCode(err: unknown): string {
  const e = (err ?? {}) as S3LikeError;
  const cause = (e.cause ?? {}) as S3LikeError;
  return e.Code ?? (e.name && e.name !== "Error" ? e.name : undefined) ?? e.code ??
    cause.code ?? String(e.$metadata?.httpStatusCode ?? "unknown");
}

/**
 * Describe an S3 error for a user: what is wrong and what to do.
 *
 * @param err Anything thrown by the SDK.
 * @param where The location, as printed.
 * @param profile The `--profile` in use, if any (a missing one explains missing credentials).
 * @returns One line.
 */
export function describeS3Error(err: unknown, where: string, profile?: string): string {
  const e = (err ?? {}) as S3LikeError;
  const code = s3ErrorCode(err);
  const status = e.$metadata?.httpStatusCode;
  const region = e.$response?.headers?.["x-amz-bucket-region"];
  const text = `${e.code ?? ""} ${(e.cause as S3LikeError | undefined)?.code ?? ""} ${
    e.message ?? ""
  }`;
  if (err instanceof StalledError) return err.message;
  if (code === "NoSuchBucket" || (code === "NotFound" && status === 404)) {
    return `Bucket of "${where}" does not exist: check the name (and --endpoint), or create the bucket first`;
  }
  if (code === "RequestTimeTooSkewed") {
    return `This computer's clock is too far from the server's (RequestTimeTooSkewed): set the clock right (turn on time sync) and run again`;
  }
  if (
    code === "PermanentRedirect" || code === "AuthorizationHeaderMalformed" || status === 301 ||
    (region && code === "BadRequest")
  ) {
    return `The bucket of "${where}" is in another region${
      region ? ` (${region})` : ""
    }: use --region ${region ?? "<region>"}`;
  }
  if (
    code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch" || code === "AccessDenied" ||
    code === "Forbidden" || status === 403
  ) {
    const why = code === "unknown" || code === "Unknown" || /^\d+$/.test(code) ? "" : ` (${code})`;
    return `Access to "${where}" was refused${why}: check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or --profile) and the bucket's permissions`;
  }
  const credentials = code === "CredentialsProviderError" ||
    /Could not load credentials|Could not resolve credentials/i.test(text);
  if (credentials && profile) {
    return `Profile "${profile}" gave no credentials: is it in ~/.aws/credentials or ~/.aws/config, with aws_access_key_id and aws_secret_access_key? (aws configure list-profiles)`;
  }
  if (credentials) {
    return `No credentials for "${where}": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile of ~/.aws/credentials with --profile`;
  }
  if (
    /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|Connection refused|dns error/i
      .test(text + code)
  ) {
    return `Cannot reach the endpoint of "${where}" (${code}): check --endpoint and the network`;
  }
  const msg = (e.message ?? String(err)).split("\n")[0];
  return `${where}: ${code}${msg && msg !== code ? `: ${msg}` : ""}`;
}
