/**
 * FTP and FTPS servers: `ftp://user[:pass]@host[:port]/path`, `ftps://…` and the older
 * `ftp:user:pass@host/path`. The FTP client loads on first use only.
 *
 * @module
 */
import type { BackendKind } from "../kind.ts";
import type { Location } from "../../location.ts";
import { UsageError } from "../../errors.ts";
import { lazyImport } from "../../lazy.ts";
import { maskUnparsed } from "../../location.ts";
import { addSecret, redact, userInfoEnd } from "../../secrets.ts";
import { comparePaths } from "../local/same_place.ts";

type FtpLocation = Extract<Location, { kind: "ftp" | "ftps" }>;

function parseFtp(scheme: string, rest: string, text: string): FtpLocation {
  const old = !rest.startsWith("//");
  const body = old ? rest : rest.slice(2);
  // A password may hold "/" and "@": the user-info ends at the "@" that a host follows.
  const at = userInfoEnd(body);
  if (old && at < 0) {
    throw new UsageError(
      `Location "${maskUnparsed(text)}" is malformed: write ${scheme}://user@host/path`,
    );
  }
  const userinfo = at < 0 ? "" : body.slice(0, at);
  const hostPath = at < 0 ? body : body.slice(at + 1);
  const slash = hostPath.indexOf("/");
  const hostPort = slash < 0 ? hostPath : hostPath.slice(0, slash);
  const path = slash < 0 ? "/" : hostPath.slice(slash);
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(.*))?$/.exec(hostPort);
  // A "port" that is no number may be a password with no host after it: never quoted.
  if (!hp || (hp[2] !== undefined && !/^\d+$/.test(hp[2]))) {
    throw new UsageError(`Location "${maskUnparsed(text)}" has no valid host`);
  }
  if (hp[2] !== undefined && !(+hp[2] >= 1 && +hp[2] <= 65535)) {
    throw new UsageError(
      `Location "${maskUnparsed(text)}" has an invalid port "${
        hp[2]
      }": a port is a number from 1 to 65535`,
    );
  }
  const colon = userinfo.indexOf(":");
  const dec = (s: string) => {
    if (old) return s;
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const user = dec(colon < 0 ? userinfo : userinfo.slice(0, colon)) || "anonymous";
  let decodedPath = path;
  try {
    decodedPath = decodeURIComponent(path);
  } catch {
    throw new UsageError(
      `Location "${maskUnparsed(text)}" has a malformed path (a stray "%")`,
    );
  }
  const loc: FtpLocation = {
    kind: scheme === "ftps" ? "ftps" : "ftp",
    host: hp[1]!,
    port: hp[2] ? Number(hp[2]) : 21,
    user,
    path: decodedPath,
    text: redact(text),
  };
  if (colon >= 0) {
    loc.password = dec(userinfo.slice(colon + 1));
    addSecret(loc.password);
    addSecret(userinfo.slice(colon + 1));
  }
  return loc;
}

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
  loc: FtpLocation,
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

const folder = (p: string) => p.replace(/^\/+|\/+$/g, "");

/** FTP and FTPS servers. */
export const ftp: BackendKind<FtpLocation> = {
  name: "ftp",
  schemes: ["ftp", "ftps"],
  locations: ["ftp", "ftps"],
  spellings: ["ftp://", "ftps://"],
  parse: parseFtp,
  flags: [
    {
      name: "ftp-connections",
      type: "count",
      usage: "--ftp-connections <N>",
      help: "connections to the server at once (default 4)",
      key: "ftpConnections",
    },
    {
      name: "ftp-implicit-tls",
      type: "boolean",
      usage: "--ftp-implicit-tls",
      help: "ftps:// with TLS from the first byte (port 990) instead of AUTH TLS",
      key: "ftpImplicitTls",
    },
    {
      name: "ftp-insecure",
      type: "boolean",
      usage: "--ftp-insecure",
      help: "accept a certificate that does not verify (a self-signed server;\n" +
        "better: trust its certificate authority with DENO_CERT=ca.pem)",
      key: "ftpInsecure",
    },
  ],
  help: {
    title: "FTP options (ftp:// and ftps:// locations):",
    note:
      "The password comes from the location, else FERRY_FTP_PASSWORD, else a prompt on a terminal.",
  },
  // One server (by host and port, whoever logs in): its paths compared as folders are.
  compare: (a, b) =>
    a.host.toLowerCase() === b.host.toLowerCase() && a.port === b.port
      ? comparePaths(folder(a.path), folder(b.path))
      : "apart",
  lazy: ["lib/backends/ftp/ftp.ts", "lib/backends/ftp/tls_session.ts"],
  open: async (loc, options) => {
    const { FtpBackend } = await lazyImport<typeof import("./ftp.ts")>("lib/backends/ftp/ftp.ts");
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
  },
};
