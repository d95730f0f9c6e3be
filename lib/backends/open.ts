/**
 * Turn a parsed location into a backend: its kind (lib/backends/registry.ts) opens it. Heavy
 * backends load lazily, so that `ferry --help` and local syncs never pay for them.
 *
 * @module
 */
import type { Backend } from "./backend.ts";
import type { Location } from "../location.ts";
import { kindOf } from "./registry.ts";

/**
 * Options when opening a location: each backend kind reads its own, which its command-line
 * options set.
 */
export interface OpenOptions {
  /** S3: endpoint URL (any S3-compatible store). */
  endpoint?: string;
  /** S3: region; Wasabi's endpoint is derived from it. */
  region?: string;
  /** S3: a profile of ~/.aws/credentials and ~/.aws/config. */
  profile?: string;
  /** S3: address buckets as `endpoint/bucket` rather than `bucket.endpoint`. */
  pathStyle?: boolean;
  /** Local: write no `.ferry/location` marker (the user keeps ferry's files out). */
  marker?: boolean;
  /** FTP: connections at most (default 4). */
  ftpConnections?: number;
  /** FTPS: accept a certificate that does not verify (a self-signed server). */
  ftpInsecure?: boolean;
  /** `ftps://`: TLS from the first byte (implicit, usually port 990) rather than AUTH TLS. */
  ftpImplicitTls?: boolean;
  /** FTP: ask for a missing password here (a terminal); absent, a missing one is an error. */
  askPassword?: (question: string) => Promise<string | undefined>;
}

/**
 * Open a backend for a location, by its kind (lib/backends/registry.ts).
 *
 * @param loc A parsed location.
 * @param options How to open it.
 * @returns The backend (not connected yet).
 * @throws {UsageError} When the options do not fit the location, such as a malformed endpoint.
 */
export async function openLocation(loc: Location, options: OpenOptions = {}): Promise<Backend> {
  return await kindOf(loc).open(loc, options);
}
