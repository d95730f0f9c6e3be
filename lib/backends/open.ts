/**
 * Turn a parsed location into a backend. Heavy backends load lazily, so that `ferry --help`
 * and local syncs never pay for them.
 *
 * @module
 */
import type { Backend } from "./backend.ts";
import { LocalBackend } from "./local.ts";
import type { Location } from "../location.ts";
import { UsageError } from "../errors.ts";
import { lazyImport } from "../lazy.ts";
import { addSecret, redact } from "../secrets.ts";

/** Options when opening a location. */
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
}

/**
 * The endpoint of a Wasabi region.
 *
 * @param region A Wasabi region such as `eu-central-1`.
 * @returns Its S3 endpoint URL.
 */
export function wasabiEndpoint(region: string): string {
  return `https://s3.${region}.wasabisys.com`;
}

/**
 * Refuse an `--endpoint` that is not an http(s) URL with a valid port, or that holds
 * credentials (keys come from the AWS chain only, and would end up in messages and state).
 *
 * @param endpoint The user's `--endpoint`.
 * @throws {UsageError} With one line saying what to write instead.
 */
export function checkEndpoint(endpoint: string): void {
  const shown = redact(endpoint);
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch { /* reported below */ }
  if (!url || !/^https?:$/.test(url.protocol) || url.hostname === "") {
    const port = /:(\d+)/.exec(endpoint.replace(/^https?:\/\//, ""))?.[1];
    throw new UsageError(
      port !== undefined && Number(port) > 65535
        ? `--endpoint "${shown}" has port ${port}: a port is 1 to 65535`
        : `--endpoint "${shown}" is not a URL: write it like https://s3.example.com`,
    );
  }
  if (url.username || url.password) {
    addSecret(decodeURIComponent(url.password));
    addSecret(url.password);
    throw new UsageError(
      `--endpoint "${
        redact(endpoint)
      }" holds credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile`,
    );
  }
}

type ZipModule = typeof import("./zip/zip.ts");

/**
 * Open a backend for a location.
 *
 * @param loc A parsed location.
 * @param options How to open it.
 * @returns The backend.
 * @throws {UsageError} For kinds this build cannot open yet.
 */
export async function openLocation(loc: Location, options: OpenOptions = {}): Promise<Backend> {
  switch (loc.kind) {
    case "local":
      return new LocalBackend(loc.path, options.marker === false ? { marker: false } : {});
    case "s3":
    case "wasabi": {
      // Loaded lazily: a run that never opens S3 never fetches the AWS SDK (lib/lazy.ts).
      const { S3Backend } = await lazyImport<typeof import("./s3.ts")>("lib/backends/s3.ts");
      const region = options.region ?? (loc.kind === "wasabi" ? "us-east-1" : undefined);
      const endpoint = options.endpoint ??
        (loc.kind === "wasabi" ? wasabiEndpoint(region!) : undefined);
      if (endpoint !== undefined) checkEndpoint(endpoint);
      return new S3Backend({
        bucket: loc.bucket,
        prefix: loc.prefix,
        display: loc.text,
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(region !== undefined ? { region } : {}),
        ...(options.profile !== undefined ? { profile: options.profile } : {}),
        ...(options.pathStyle ? { pathStyle: true } : {}),
      });
    }
    case "zip": {
      // Loaded lazily too: a run without an archive never loads the ZIP code.
      const { ZipBackend } = await lazyImport<ZipModule>("lib/backends/zip/zip.ts");
      return new ZipBackend(loc.path, loc.text);
    }
    default:
      throw new UsageError(
        `Cannot open "${loc.text}": ${loc.kind} locations are not supported by this version of ferry yet (folders, zip:, s3:// and wasabi:// are)`,
      );
  }
}
