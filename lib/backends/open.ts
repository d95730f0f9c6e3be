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
type FtpModule = typeof import("./ftp/ftp.ts");

/**
 * The password of an FTP location: from the URL, else `FERRY_FTP_PASSWORD`, else asked for on
 * a terminal; `anonymous` needs none.
 *
 * @param loc The FTP location.
 * @param ask Asks on a terminal, where there is one.
 * @returns The password.
 * @throws {UsageError} When there is none to be had.
 */
export async function ftpPassword(
  loc: Extract<Location, { kind: "ftp" | "ftps" }>,
  ask?: (question: string) => Promise<string | undefined>,
): Promise<string> {
  if (loc.password !== undefined) return loc.password;
  let env: string | undefined;
  try {
    env = Deno.env.get("FERRY_FTP_PASSWORD");
  } catch { /* no permission to read it */ }
  if (env !== undefined) return env;
  if (loc.user === "anonymous" || loc.user === "ftp") return "anonymous@";
  const asked = await ask?.(`Password for ${loc.user}@${loc.host}: `);
  if (asked !== undefined) {
    addSecret(asked);
    return asked;
  }
  throw new UsageError(
    `No password for "${loc.text}": put it in the URL, set FERRY_FTP_PASSWORD, or run ferry on a terminal to be asked`,
  );
}

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
    case "ftp":
    case "ftps": {
      // Loaded lazily: a run without an FTP location never loads the FTP client.
      const { FtpBackend } = await lazyImport<FtpModule>("lib/backends/ftp/ftp.ts");
      return new FtpBackend({
        host: loc.host,
        port: loc.port === 21 && loc.kind === "ftps" && options.ftpImplicitTls ? 990 : loc.port,
        user: loc.user,
        password: await ftpPassword(loc, options.askPassword),
        path: loc.path,
        secure: loc.kind === "ftps" ? (options.ftpImplicitTls ? "implicit" : true) : false,
        display: loc.text,
        ...(options.ftpInsecure ? { insecure: true } : {}),
        ...(options.ftpConnections !== undefined ? { connections: options.ftpConnections } : {}),
      });
    }
  }
}
