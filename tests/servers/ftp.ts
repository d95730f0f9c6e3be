/**
 * FTP servers for tests, on 127.0.0.1 with private configuration (nothing in /etc): `ftp-srv`
 * in-process (LIST only, no way to set a time), and real daemons from Debian: pure-ftpd (MLSD,
 * MFMT), installed by apt, and vsftpd (LIST only, times set by two-argument MDTM), unpacked by
 * `.ci/run` into `~/.cache/ferry-test-daemons` (the two packages conflict). Each daemon can run
 * with TLS on, with a certificate made by `openssl req` for 127.0.0.1.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, stopChild, waitForWord } from "./_child.ts";

export { freePort };

/** A running FTP server. */
export interface FtpServer {
  /** `ftp://user:pass@127.0.0.1:port` (no trailing slash). */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** The folder on disk that the server's `/` (or the user's home) is. */
  root: string;
  /** The server path of a folder the user may write in. */
  base: string;
  /** The certificate authority (PEM) to trust where TLS is on. */
  cert?: string;
  stop(): Promise<void>;
}

/** Where `.ci/run` unpacks vsftpd (its package conflicts with pure-ftpd's). */
export const DAEMON_DIR = join(
  Deno.env.get("HOME") ?? "/root",
  ".cache",
  "ferry-test-daemons",
);

/** A range of passive ports unlikely to meet another test process's. */
function passiveRange(): [number, number] {
  const start = 40_000 + Math.floor(Math.random() * 200) * 100;
  return [start, start + 99];
}

const FTP_SRV = fileURLToPath(new URL("./ftp_srv.cjs", import.meta.url));

/**
 * Start ftp-srv (npm, under Node like s3rver: in this process its optional native dependency
 * would enter deno.lock and the binary's graph).
 *
 * @param options The user's password (default `pw-secret-1`).
 * @returns The server.
 */
export async function startFtpSrv(
  options: { password?: string } = {},
): Promise<FtpServer> {
  const root = await Deno.makeTempDir({ prefix: "ferry-ftpsrv-" });
  const port = freePort();
  const [min, max] = passiveRange();
  const password = options.password ?? "pw-secret-1";
  const child = new Deno.Command("node", {
    args: [
      FTP_SRV,
      String(port),
      String(min),
      String(max),
      root,
      "tester",
      password,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  await waitForWord(
    child,
    "listening",
    "ftp-srv (npm ci --prefix tests/servers)",
  );
  return {
    url: `ftp://tester:${password}@127.0.0.1:${port}`,
    host: "127.0.0.1",
    port,
    user: "tester",
    password,
    root,
    base: "/",
    stop: () => stopChild(child, root),
  };
}

/** The FTP daemons the tests run. */
export type Daemon = "pure-ftpd" | "vsftpd" | "proftpd";

/**
 * A daemon's private folder (`dir`, readable by the unprivileged user the daemon runs as), its
 * files' folder `dir/root` with `writable` below it owned by `uid`, a control port and a
 * passive port range.
 */
async function daemonFolder(
  name: string,
  options: { base?: string; writable?: string; uid?: number } = {},
): Promise<
  { dir: string; root: string; port: number; passive: [number, number] }
> {
  const dir = await Deno.makeTempDir({
    prefix: `ferry-${name}-`,
    ...(options.base ? { dir: options.base } : {}),
  });
  await Deno.chmod(dir, 0o755);
  const root = join(dir, "root");
  const writable = join(root, options.writable ?? "");
  await Deno.mkdir(writable, { recursive: true });
  const uid = options.uid ?? 65534;
  await Deno.chown(writable, uid, uid);
  return { dir, root, port: freePort(), passive: passiveRange() };
}

/** A crypt(3) SHA-512 hash of a password (pure-pw's default, argon2, costs two seconds a login). */
async function cryptHash(password: string): Promise<string> {
  return (await run("openssl", ["passwd", "-6", "-stdin"], password)).trim();
}

/** Whether this machine can run the real daemons (they are installed and we are root). */
export function daemonAvailable(kind: Daemon): boolean {
  if (Deno.uid?.() !== 0) return false;
  const known = availability.get(kind);
  if (known !== undefined) return known;
  let ok = false;
  try {
    Deno.statSync(daemonPath(kind));
    // It starts (an unpacked daemon whose shared libraries are missing does not).
    ok = new Deno.Command(daemonPath(kind), {
      args: [kind === "pure-ftpd" ? "--help" : "-v"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync().code !== 127;
  } catch { /* not installed */ }
  availability.set(kind, ok);
  return ok;
}

const availability = new Map<Daemon, boolean>();

function daemonPath(kind: Daemon): string {
  return kind === "pure-ftpd" ? "/usr/sbin/pure-ftpd" : join(DAEMON_DIR, `usr/sbin/${kind}`);
}

async function run(
  cmd: string,
  args: string[],
  stdin?: string,
): Promise<string> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  if (!out.success) {
    throw new Error(
      `${cmd} failed: ${new TextDecoder().decode(out.stderr).slice(0, 500)}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * A test certificate authority and a server certificate for 127.0.0.1 that it signed (PEM files
 * in `dir`). The authority is what a user trusts (`DENO_CERT`): Deno's TLS refuses a
 * self-signed certificate that is its own authority as a server's.
 *
 * @param dir Where to write the files.
 * @returns The paths: `ca` (to trust), `cert` and `key` (the server's), `both` (key + cert).
 */
export async function makeCertificate(
  dir: string,
): Promise<{ ca: string; cert: string; key: string; both: string }> {
  const ca = join(dir, "ca.pem");
  const caKey = join(dir, "ca.key");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const csr = join(dir, "cert.csr");
  const ext = join(dir, "cert.ext");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=ferry test CA",
    "-keyout",
    caKey,
    "-out",
    ca,
  ]);
  await run("openssl", [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    key,
    "-out",
    csr,
  ]);
  await Deno.writeTextFile(
    ext,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  const both = join(dir, "both.pem");
  await Deno.writeTextFile(
    both,
    (await Deno.readTextFile(key)) + (await Deno.readTextFile(cert)),
  );
  return { ca, cert, key, both };
}

/**
 * Start a daemon whose stderr goes to `dir/log`, wait until it listens, and describe it.
 *
 * @returns The server; stopping it removes `dir`.
 */
async function launch(
  kind: Daemon,
  args: string[],
  dir: string,
  port: number,
  server: Omit<FtpServer, "host" | "port" | "stop">,
  env?: Record<string, string>,
): Promise<FtpServer> {
  const log = join(dir, "log");
  const out = await Deno.open(log, { write: true, create: true, append: true });
  const child = new Deno.Command(daemonPath(kind), {
    args,
    ...(env ? { env } : {}),
    stdout: "null",
    stderr: "piped",
  })
    .spawn();
  child.stderr.pipeTo(out.writable).catch(() => {});
  await waitForPort(port, child, log);
  return {
    ...server,
    host: "127.0.0.1",
    port,
    stop: () => stopChild(child, dir),
  };
}

async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  log: string,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  child.kill();
  throw new Error(
    `the FTP daemon did not listen on ${port}: ${await Deno.readTextFile(log)}`,
  );
}

/**
 * Start pure-ftpd (run as root) with a virtual user in a private password database.
 *
 * @param options `tls`: require TLS (`ftps://`); `password`: the user's password; `base`: the
 *   folder to hold the server's files (a memory file system for benchmarks).
 * @returns The server.
 */
export async function startPureFtpd(
  options: {
    tls?: boolean;
    password?: string;
    maxClients?: number;
    base?: string;
  } = {},
): Promise<FtpServer> {
  const { dir, root, port, passive: [min, max] } = await daemonFolder(
    "pureftpd",
    {
      ...(options.base ? { base: options.base } : {}),
    },
  );
  const password = options.password ?? "pw-secret-1";
  const hash = (await run("openssl", ["passwd", "-6", "-stdin"], password))
    .trim();
  await Deno.writeTextFile(
    join(dir, "passwd"),
    `tester:${hash}:65534:65534::${root}/./::::::::::::\n`,
  );
  await run("pure-pw", [
    "mkdb",
    join(dir, "users.pdb"),
    "-f",
    join(dir, "passwd"),
  ]);
  const max_ = String(options.maxClients ?? 50);
  const args = [
    "-S",
    `127.0.0.1,${port}`,
    "-l",
    `puredb:${join(dir, "users.pdb")}`,
    "-E",
    "-A",
    "-H",
    "-p",
    `${min}:${max}`,
    "-c",
    max_,
    "-C",
    max_,
    "-g",
    join(dir, "pid"),
  ];
  let cert: string | undefined;
  if (options.tls) {
    const c = await makeCertificate(dir);
    cert = c.ca;
    args.push("-Y", "2", "-2", c.both);
  }
  const scheme = options.tls ? "ftps" : "ftp";
  return await launch("pure-ftpd", args, dir, port, {
    url: `${scheme}://tester:${password}@127.0.0.1:${port}`,
    user: "tester",
    password,
    root,
    base: "/",
    ...(cert ? { cert } : {}),
  });
}

/**
 * Start vsftpd (run as root) for anonymous users who may write in `/pub`: vsftpd has no MLSD
 * and no MFMT, so ferry lists with LIST and sets times with two-argument MDTM.
 *
 * @param options `tls`: require TLS on control and data, with session reuse
 * (`require_ssl_reuse=YES`, vsftpd's default); `zone`: list times in this time zone (`TZ`, with
 * `use_localtime=YES`) rather than UTC.
 * @returns The server.
 */
export async function startVsftpd(
  options: { tls?: boolean; zone?: string } = {},
): Promise<FtpServer> {
  // The anonymous user is "daemon" (uid 1, home /usr/sbin on every Debian): vsftpd changes to
  // the user's home before its anon_root, so the user needs a home that exists.
  const { dir, root, port, passive: [min, max] } = await daemonFolder(
    "vsftpd",
    {
      writable: "pub",
      uid: 1,
    },
  );
  await Deno.mkdir(join(dir, "empty"));
  const conf = [
    "listen=YES",
    "listen_ipv6=NO",
    "listen_address=127.0.0.1",
    `listen_port=${port}`,
    "background=NO",
    "anonymous_enable=YES",
    "local_enable=NO",
    "write_enable=YES",
    "anon_upload_enable=YES",
    "anon_mkdir_write_enable=YES",
    "anon_other_write_enable=YES",
    "anon_umask=022",
    `anon_root=${root}`,
    "no_anon_password=YES",
    "ftp_username=daemon",
    "nopriv_user=daemon",
    `secure_chroot_dir=${join(dir, "empty")}`,
    "pasv_enable=YES",
    `pasv_min_port=${min}`,
    `pasv_max_port=${max}`,
    "seccomp_sandbox=NO",
    "xferlog_enable=NO",
    "max_per_ip=50",
    "max_clients=50",
  ];
  let cert: string | undefined;
  if (options.tls) {
    const c = await makeCertificate(dir);
    cert = c.ca;
    conf.push(
      "ssl_enable=YES",
      "allow_anon_ssl=YES",
      "force_anon_logins_ssl=YES",
      "force_anon_data_ssl=YES",
      "require_ssl_reuse=YES",
      "ssl_ciphers=HIGH",
      `rsa_cert_file=${c.cert}`,
      `rsa_private_key_file=${c.key}`,
    );
  }
  // Listings in a zone of its own, as a server set to local time shows them.
  if (options.zone) conf.push("use_localtime=YES");
  await Deno.writeTextFile(join(dir, "vsftpd.conf"), conf.join("\n") + "\n");
  const scheme = options.tls ? "ftps" : "ftp";
  return await launch("vsftpd", [join(dir, "vsftpd.conf")], dir, port, {
    url: `${scheme}://anonymous@127.0.0.1:${port}`,
    user: "anonymous",
    password: "anonymous@",
    root,
    base: "/pub",
    ...(cert ? { cert } : {}),
  }, options.zone ? { TZ: options.zone } : undefined);
}

/**
 * Start proFTPD (run as root) with a user from a private password file. With
 * `AllowOverwrite off`, as here, it refuses to rename onto an existing file (as IIS and
 * FileZilla Server do): ferry must delete the old file first and journal that window.
 *
 * @param options `password`: the user's password.
 * @returns The server.
 */
export async function startProftpd(
  options: { password?: string } = {},
): Promise<FtpServer> {
  const { dir, root, port, passive: [min, max] } = await daemonFolder(
    "proftpd",
  );
  const password = options.password ?? "pw-secret-1";
  const hash = await cryptHash(password);
  await Deno.writeTextFile(
    join(dir, "passwd"),
    `tester:${hash}:65534:65534::${root}:/bin/false\n`,
    { mode: 0o600 },
  );
  await Deno.writeTextFile(join(dir, "group"), "nogroup:x:65534:\n");
  const conf = [
    "ServerType standalone",
    "DefaultAddress 127.0.0.1",
    `Port ${port}`,
    "UseIPv6 off",
    "User nobody",
    "Group nogroup",
    `PidFile ${join(dir, "pid")}`,
    `ScoreboardFile ${join(dir, "scoreboard")}`,
    "DelayTable none",
    "WtmpLog off",
    "TransferLog none",
    `SystemLog ${join(dir, "log")}`,
    "AuthOrder mod_auth_file.c",
    `AuthUserFile ${join(dir, "passwd")}`,
    `AuthGroupFile ${join(dir, "group")}`,
    "RequireValidShell off",
    "DefaultRoot ~",
    `PassivePorts ${min} ${max}`,
    "AllowOverwrite off",
    "MaxInstances 60",
  ];
  await Deno.writeTextFile(join(dir, "proftpd.conf"), conf.join("\n") + "\n");
  return await launch(
    "proftpd",
    ["-n", "-q", "-c", join(dir, "proftpd.conf")],
    dir,
    port,
    {
      url: `ftp://tester:${password}@127.0.0.1:${port}`,
      user: "tester",
      password,
      root,
      base: "/",
    },
  );
}
