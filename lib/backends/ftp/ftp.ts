/**
 * FTP and FTPS servers as locations. Loaded lazily: only a run that names an `ftp://` or
 * `ftps://` location pays for it. Plain FTP runs on Deno's own sockets, FTPS on `basic-ftp`
 * (see `session.ts`).
 *
 * - **Connections**: a pool (4 by default) opened as needed; a server that answers "421 too
 *   many connections" shrinks the pool instead of failing the run. A connection that drops is
 *   thrown away and the request tried again on a fresh one, with backoff.
 * - **Listing**: folders are listed in parallel over the pool, MLSD where the server has it
 *   (exact UTC times), else `LIST -a` (Unix or DOS lines, times of a minute or a day).
 * - **Times**: set with MFMT, or vsftpd's two-argument MDTM, where the server can; and always
 *   remembered: a file's stamp is its size and the server's own text of its time, and while
 *   the stamp is the one ferry wrote, the state's exact time stands for it (`modTime:
 *   "remembered"`), so a resync is a no-op on every server.
 * - **Writes** go to a temporary name in the same folder, are checked for size, timed and then
 *   renamed into place. Where a server will not rename over a file, the old one is deleted
 *   first, and the upload journal in the state knows that window: a rerun after a crash
 *   between the two renames the complete upload into place.
 *
 * @module
 */
import {
  FtpOutOfStep,
  FtpReplyError,
  type FtpSession,
  FtpTimeout,
  ListingCutShort,
  NativeSession,
  NoGreeting,
  NotFtpServer,
  type Reply,
} from "./session.ts";
import { lazyImport } from "../../lazy.ts";
import type {
  Backend,
  Capabilities,
  Entry,
  KnownFile,
  Listing,
  ListOptions,
  UploadJournal,
  WriteMeta,
} from "../backend.ts";
import {
  checkKey,
  FERRY_DIR,
  inScope,
  isTempName,
  joinKey,
  normaliseScope,
  parentKey,
  tempName,
  tempOwner,
} from "../../paths.ts";
import { loadFilter } from "../../scan/filter.ts";
import { describeError, RunError, SafetyError } from "../../errors.ts";
import { type ListedItem, parseListing, parseMlsdLine } from "./listing.ts";
import { bytesOf } from "../../util/streams.ts";
import { createHash, type Hash } from "node:crypto";

/** How to reach an FTP location. */
export interface FtpOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Absolute folder on the server. */
  path: string;
  /** `true`: explicit TLS (AUTH TLS); `"implicit"`: TLS from the first byte. */
  secure: boolean | "implicit";
  /** Accept a certificate that does not verify (a self-signed server). */
  insecure?: boolean;
  /** Printable location (password masked). */
  display: string;
  /** Connections at most (default 4). */
  connections?: number;
  /** Per-reply timeout, ms (default 30 s). */
  timeout?: number;
  /** First backoff before retrying a dropped request, ms (default 200; doubled each time). */
  retryDelay?: number;
}

const ATTEMPTS = 6;

/** Files up to this size are held in memory while they are uploaded, so a dropped upload is
 * tried again without the source. */
const RETRY_BUFFER = 4 << 20;

/**
 * How far the server's clock may run from ours, ms: a listed time this close to the server's
 * "now" is recent (see {@linkcode FtpBackend.list}).
 */
const CLOCK_SKEW = 5 * 60_000;

/** The widest a listing's time zone can be from UTC, ms (UTC-12). */
const WEST_MOST = 12 * 3_600_000;

const QUARTER_HOUR = 15 * 60_000;

/** The empty file that tells whether a server without MFMT can set times (a temporary name). */
const PROBE_NAME = ".ferry-tmp-probe";

/** FTP replies that are worth trying again: the server is busy or a connection failed. */
function transient(err: unknown): boolean {
  if (err instanceof FtpReplyError) return err.code >= 400 && err.code < 500;
  // Anything else is the connection: reset, timeout, closed.
  return !(err instanceof LoginError) && !(err instanceof NotListening) &&
    !(err instanceof SafetyError) && !(err instanceof SetupError) &&
    !(err instanceof WrongSize) &&
    !(err instanceof UnreadableListing) && !(err instanceof Deno.errors.NotFound) &&
    !(err instanceof RangeError);
}

/**
 * Send a command and take its reply, a refusal (5xx) included; a transient reply (4xx: 421
 * closing, 425/426/450/451) is thrown, so that the request is tried again.
 */
async function ask(c: FtpSession, command: string): Promise<Reply> {
  const res = await c.command(command);
  if (res.code >= 400 && res.code < 500) throw new FtpReplyError(res);
  return res;
}

/** How a rename went: RNFR's refusal (`fromMissing`), else RNTO's reply. */
type RenameAnswer = Reply & { fromMissing: boolean };

/**
 * RNFR, and RNTO only once RNFR was answered 350 on this connection: the reply that says how
 * it went. Never sent together: a server renames whatever its last accepted RNFR named, so an
 * RNTO that goes out before its RNFR is answered can move another file to this name (pure-ftpd
 * keeps the source of an earlier RNFR when a later one fails; ftp-srv can run an RNTO that
 * arrives with its RNFR before that RNFR has taken effect, leaving it for the next RNTO). A
 * transient reply is thrown.
 */
async function rename(c: FtpSession, from: string, to: string): Promise<RenameAnswer> {
  const rnfr = await ask(c, `RNFR ${from}`);
  if (rnfr.code >= 400) return { ...rnfr, fromMissing: true };
  if (rnfr.code !== 350) {
    // Some other command's answer: nothing of this connection's is to be trusted any more.
    c.close();
    throw new FtpOutOfStep(`the FTP server answered RNFR with "${rnfr.code}"`);
  }
  return { ...await ask(c, `RNTO ${to}`), fromMissing: false };
}

/** The hashes a server's HASH command may give, by their FTP names, as node:crypto calls them. */
const HASHES: Record<string, string> = {
  "SHA-256": "sha256",
  "SHA-512": "sha512",
  "SHA-1": "sha1",
  "MD5": "md5",
};

/**
 * The hash a server's HASH gives (draft-bryan-ftpext-hash): the one its FEAT marks with `*`,
 * where ferry can compute it too.
 */
function hashOffered(features: Map<string, string> | undefined): string | undefined {
  const names = features?.get("HASH")?.split(";") ?? [];
  const chosen = names.find((n) => n.endsWith("*")) ?? names[0];
  const name = chosen?.replace(/\*$/, "").trim().toUpperCase();
  return name && HASHES[name] ? name : undefined;
}

/** Every chunk of a stream, as they came (no copy). */
async function readChunks(data: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of data) out.push(chunk);
  return out;
}

/** The facts of an MLST reply, or undefined when it says the path is not there. */
function mlstFacts(res: Reply): ListedItem | undefined {
  if (res.code >= 500) return undefined;
  const line = res.message.split(/\r?\n/).find((l) => /^\s*[A-Za-z.]+=/.test(l));
  return line ? parseMlsdLine(line.trimStart()) : undefined;
}

/** The size a SIZE reply gives, if it gives one. */
function sizeReply(res: Reply): number | undefined {
  const n = res.code === 213 ? Number(res.message.slice(4).trim()) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Send a command that must succeed: any refusal is thrown. */
async function must(c: FtpSession, command: string): Promise<Reply> {
  const res = await c.command(command);
  if (res.code >= 400) throw new FtpReplyError(res);
  return res;
}

type TlsModule = typeof import("./tls_session.ts");

/** The server refused the user name or password. */
export class LoginError extends Error {
  override name = "LoginError";
}

/** A listing with lines of no known form: the folder is a problem, never read as emptier. */
export class UnreadableListing extends Error {
  override name = "UnreadableListing";
}

/** The location's settings do not fit the server: TLS on one side only, an untrusted certificate. */
export class SetupError extends Error {
  override name = "SetupError";
}

/** What a server that takes TLS only says to a login without it. */
const TLS_ONLY = /TLS|SSL|encrypt|cleartext/i;

/** A download that brought more bytes than its listing promised: never delivered, never retried. */
export class WrongSize extends Error {
  override name = "WrongSize";
}

/** Nothing answers at the host and port (or what answers is no FTP server). */
export class NotListening extends Error {
  override name = "NotListening";
  /** The server cannot be reached: the engine stops a run after a few in a row. */
  readonly unreachable = true;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** A time as FTP writes it: `YYYYMMDDHHMMSS`, UTC. */
function ftpTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

/** An FTP location. */
export class FtpBackend implements Backend {
  readonly display: string;
  readonly id: string;
  // Times ferry wrote are remembered to the millisecond; every other file carries its own
  // precision (a second for MLSD and MDTM, a minute or a day for LIST).
  caps: Capabilities = {
    local: false,
    timePrecision: 1,
    caseInsensitive: false,
    inodes: false,
    modTime: "remembered",
    dirs: true,
    concurrency: 4,
    transactional: false,
  };
  /** Content bytes sent to the server, for tests that prove nothing was transferred. */
  bytesWritten = 0;
  #o: FtpOptions;
  #root: string;
  #idle: FtpSession[] = [];
  #open = 0;
  #max: number;
  /** Callers waiting for a connection: handed one, or woken to look again. */
  #waiting: ((handed?: FtpSession) => void)[] = [];
  #features: Map<string, string> | undefined;
  #connecting: Promise<void> | undefined;
  /** How times are set: a command, or none where the server cannot. */
  #setTime: "MFMT" | "MDTM" | "none" | undefined;
  #dirs = new Set<string>([""]);
  /** Connections being opened ahead of need. */
  #warming = new Set<Promise<void>>();
  /** Sizes as last listed: a download must bring exactly that many bytes. */
  #sizes = new Map<string, number>();
  /** Server names whose NFC form (the key) differs from what the server holds. */
  #real = new Map<string, string>();
  #journal: UploadJournal | undefined;
  /** This run's journal row, once it wrote something. */
  #runRow: string | undefined;
  /** Temporary names of uploads under way. */
  #mine = new Set<string>();
  /** Journal rows of earlier runs whose temporary names the next whole listing deletes. */
  #staleRuns = new Map<number, string>();
  /** Temporary names the last listing found, with the process that made them. */
  #temps: { path: string; owner: number | undefined }[] = [];
  #closed = false;
  /**
   * How far LIST times are from UTC (a server lists in its own zone), ms; learned from a
   * file's MDTM (UTC, RFC 3659) where the two differ.
   */
  #zone: number | undefined;

  /** @param options Where the server is and how to log in. */
  constructor(options: FtpOptions) {
    this.#o = options;
    this.display = options.display;
    this.#root = ("/" + options.path.replace(/^\/+|\/+$/g, "")).replace(/^\/$/, "/");
    this.#max = Math.max(1, options.connections ?? 4);
    // Twice as many transfers as connections: while one waits for a connection, its source is
    // read, and an upload's rename goes out with the next one's first commands.
    this.caps.concurrency = this.#max * 2;
    const host = options.host.includes(":") && !options.host.startsWith("[")
      ? `[${options.host}]`
      : options.host;
    this.id = `ftp://${encodeURIComponent(options.user)}@${host}:${options.port}${this.#root}`;
  }

  /** Whether the server lists with MLSD (exact times) rather than LIST. */
  get mlsd(): boolean {
    return this.#features?.has("MLST") ?? false;
  }

  /** The server path of a key. */
  abs(key: string): string {
    if (key === "") return this.#root;
    checkKey(key);
    if (/[\r\n]/.test(key)) {
      throw new Error(`"${key.replace(/[\r\n]/g, "?")}": FTP cannot send a name with a line break`);
    }
    const nfc = key.normalize("NFC");
    const real = this.#real.get(nfc) ?? nfc;
    return this.#root === "/" ? "/" + real : `${this.#root}/${real}`;
  }

  // ---- connections ----

  async #connect(): Promise<FtpSession> {
    const host = this.#o.host.replace(/^\[|\]$/g, "");
    const timeout = this.#o.timeout ?? 30_000;
    let c: FtpSession | undefined;
    try {
      if (this.#o.secure) {
        const { TlsSession } = await lazyImport<TlsModule>("lib/backends/ftp/tls_session.ts");
        c = await TlsSession.connect({
          host,
          port: this.#o.port,
          implicit: this.#o.secure === "implicit",
          insecure: !!this.#o.insecure,
          timeout,
        });
      } else c = await NativeSession.connect(host, this.#o.port, timeout);
      await c.command("OPTS UTF8 ON");
      const user = await c.command(`USER ${this.#o.user}`);
      const pass = user.code === 331 ? await c.command(`PASS ${this.#o.password}`) : user;
      if (pass.code >= 400) throw new FtpReplyError(pass);
      if (this.#o.secure) {
        // Data connections are protected as the control one is.
        await c.command("PBSZ 0");
        await must(c, "PROT P");
      }
      if (!this.#features) {
        const feat = await c.command("FEAT");
        // "Try again" is no answer: taken for "no features", it would leave the whole run
        // without MLSD, MFMT and SIZE, and so without the size check before each rename.
        if (feat.code >= 400 && feat.code < 500) throw new FtpReplyError(feat);
        const features = new Map<string, string>();
        if (feat.code < 400) {
          for (const line of feat.message.split(/\r?\n/).slice(1, -1)) {
            const [name, ...rest] = line.trim().split(" ");
            if (name) features.set(name.toUpperCase(), rest.join(" "));
          }
        }
        this.#features = features;
      }
      await must(c, "TYPE I");
      if (this.#features.has("MLST")) await c.command("OPTS MLST type;size;modify;unique;");
    } catch (err) {
      c?.close();
      const code = (err as { code?: unknown }).code;
      if (err instanceof Error && err.name === "NoTls") throw new SetupError(err.message);
      // A server that takes TLS only, reached by ftp://, refuses the login saying so: no
      // password is wrong.
      if (!this.#o.secure && err instanceof FtpReplyError && TLS_ONLY.test(err.message)) {
        throw new SetupError(
          `the server accepts only TLS (it said "${
            err.message.split(/\r?\n/)[0]!.replace(/^\d{3}[- ]/, "").trim()
          }"): use ftps://`,
        );
      }
      if (
        this.#o.secure && !this.#o.insecure && err instanceof Error &&
        (/CERT|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(String(code)) ||
          /certificate/i.test(err.message))
      ) {
        throw new SetupError(
          `the server's TLS certificate is not trusted (${describeError(err)}): ` +
            `trust the authority that signed it with DENO_CERT=ca.pem, or accept it unchecked with --ftp-insecure`,
        );
      }
      if (err instanceof FtpReplyError && (err.code === 530 || err.code === 332)) {
        throw new LoginError(
          `the server refused user "${this.#o.user}" (${err.message}): check the user name and password`,
        );
      }
      // A server that greeted this run before and is silent now is a stalled connection (a
      // busy server, a dropped packet), tried again like any other; only a first greeting
      // that never comes says the port is no FTP server's.
      if (err instanceof NoGreeting && this.#features) throw new FtpTimeout(err.message);
      if (err instanceof NotFtpServer) {
        throw new NotListening(
          `${this.#o.host} port ${this.#o.port} is not an FTP server: ${err.message} (is it the FTP port?)`,
        );
      }
      if (err instanceof Deno.errors.ConnectionRefused || code === "ECONNREFUSED") {
        throw new NotListening(
          `nothing answers at ${this.#o.host} port ${this.#o.port} (is the FTP server running?)`,
        );
      }
      if (
        /failed to lookup address|Name or service not known|ENOTFOUND|EAI_AGAIN/.test(
          String((err as Error).message) + String(code),
        )
      ) {
        throw new NotListening(`no host named "${this.#o.host}"`);
      }
      throw err;
    }
    return c;
  }

  /** Open the rest of the pool in the background: a listing needs every connection at once. */
  #warm(): void {
    while (this.#open < this.#max && !this.#closed) {
      this.#open++;
      const p = this.#connect().then(
        (c) => this.#release(c),
        () => {
          this.#open--;
          this.#waiting.shift()?.();
        },
      ).finally(() => this.#warming.delete(p));
      this.#warming.add(p);
    }
  }

  async #acquire(): Promise<FtpSession> {
    for (let round = 0; round < 10_000; round++) {
      if (this.#closed) throw new Error("the FTP location was closed");
      const c = this.#idle.pop();
      if (c) {
        if (!c.closed) return c;
        this.#open--;
        continue;
      }
      if (this.#open < this.#max && (this.#open === 0 || this.#features)) {
        this.#open++;
        try {
          return await this.#connect();
        } catch (err) {
          this.#open--;
          this.#waiting.shift()?.();
          // "421 too many connections": use the ones there are.
          if (err instanceof FtpReplyError && err.code === 421 && this.#open > 0) {
            this.#max = Math.max(1, this.#open);
            continue;
          }
          throw err;
        }
      }
      const handed = await new Promise<FtpSession | undefined>((r) => this.#waiting.push(r));
      if (handed && !handed.closed) return handed;
      if (handed) this.#open--;
    }
    throw new Error("no FTP connection became free");
  }

  #release(c: FtpSession, broken = false): void {
    if (broken || this.#closed || c.closed) {
      c.close();
      this.#open--;
      this.#waiting.shift()?.();
      return;
    }
    // Handed straight to a waiting caller: commands waiting on it go out with that caller's
    // first request (in the idle pool they could wait there, unsent, for ever).
    const next = this.#waiting.shift();
    if (next) next(c);
    else if (c.pending && c.flush) {
      // Nobody is coming: they are sent now, the connection held meanwhile.
      c.flush().then(() => this.#release(c), () => this.#release(c, true));
    } else this.#idle.push(c);
  }

  /**
   * Run a request on a pooled connection; a connection that fails is dropped and the request
   * tried again on another (idempotent requests only).
   */
  async #use<T>(fn: (c: FtpSession) => Promise<T>, retry = true): Promise<T> {
    let delay = this.#o.retryDelay ?? 200;
    for (let attempt = 1;; attempt++) {
      let conn: FtpSession | undefined;
      try {
        conn = await this.#acquire();
        const out = await fn(conn);
        this.#release(conn);
        return out;
      } catch (err) {
        const broken = !(err instanceof FtpReplyError) || err.code === 421;
        if (conn) this.#release(conn, broken);
        if (!retry || attempt >= ATTEMPTS || !transient(err) || this.#closed) throw err;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  /**
   * A request that opens the location (the login is its first part). A connection that
   * still fails after every retry (reset, timeout, "try again") is a network fault, not bad
   * input: it is a {@linkcode RunError} (exit 1), and the next run may get through.
   */
  async #reach<T>(fn: (c: FtpSession) => Promise<T>): Promise<T> {
    try {
      return await this.#use(fn);
    } catch (err) {
      if (!transient(err)) throw err;
      throw new RunError(
        `the connection to ${this.#o.host} port ${this.#o.port} failed ${ATTEMPTS} times: ${
          describeError(err)
        }`,
        { cause: err },
      );
    }
  }

  // ---- the Backend interface ----

  async open(mode: "read" | "write" = "read"): Promise<{ exists: boolean }> {
    const exists = await this.rootExists();
    this.#warm();
    // A server without MFMT may still set times (vsftpd's MDTM) or keep none at all (then a
    // time it lists is when the file arrived). Learned once, with a probe file in the root,
    // where this run may write.
    if (exists && mode === "write" && !this.#features?.has("MFMT") && !this.#setTime) {
      // One name per location: a probe a killed run left is the next probe's.
      const probe = this.abs(PROBE_NAME);
      await this.#use(async (c) => {
        await c.store(probe, ReadableStream.from([]));
      }, false).catch(() => {});
      await this.#setModTime(probe, Date.UTC(2000, 0, 1)).catch(() => {});
      await this.#use((c) => ask(c, `DELE ${probe}`)).catch(() => {});
    }
    return { exists };
  }

  async rootExists(): Promise<boolean> {
    const there = await this.#reach(async (c): Promise<boolean | "file"> => {
      // MLST where the server has it: pure-ftpd answers each failed CWD after a longer wait
      // (0.1 s more each time), and a new root is looked for twice.
      if (this.mlsd) {
        const r = await ask(c, `MLST ${this.#root}`);
        const type = r.code < 300 ? /\btype=([^;]*);/i.exec(r.message)?.[1]?.toLowerCase() : "";
        if (type === "dir" || type === "cdir" || type === "pdir") return true;
        if (type === "file") return "file";
        if (r.code === 550) return false;
      }
      const r = await ask(c, `CWD ${this.#root}`);
      if (r.code < 500) return true;
      // No MLST: a file there is told by its size, so that it is not taken for a missing
      // root (a source that "does not exist", a destination made over it).
      const size = this.#root !== "/" && this.#features?.has("SIZE")
        ? await ask(c, `SIZE ${this.#root}`)
        : undefined;
      return size?.code === 213 ? "file" : false;
    });
    if (there === "file") throw new Error(`"${this.#root}" on the server is a file, not a folder`);
    // The rest of the pool logs in while the run opens its state and walks its source (also
    // where the root is missing: a destination the run makes wants them at once).
    this.#warm();
    return there;
  }

  /**
   * Create the root folder itself, never its parents (as for a local folder): a missing parent
   * is a path mistyped or a share the server has not mounted, and a tree made below it would
   * be wrong.
   */
  async createRoot(): Promise<void> {
    const parent = this.#root.slice(0, this.#root.lastIndexOf("/")) || "/";
    await this.#reach(async (c) => {
      // Asked first: some servers (ftp-srv) make a folder's parents along with it.
      if ((await ask(c, `CWD ${parent}`)).code >= 400) {
        throw new SafetyError(
          `The folder that should hold "${this.display}" does not exist on the server: create "${parent}" there first (or check the path)`,
        );
      }
      const made = await ask(c, `MKD ${this.#root}`);
      if (made.code >= 400 && (await ask(c, `CWD ${this.#root}`)).code >= 400) {
        throw new FtpReplyError(made);
      }
    });
  }

  async #listDir(path: string): Promise<ListedItem[]> {
    /** A listing that looked cut short: the same text twice over is how this server ends it. */
    let cut: string | undefined;
    return await this.#use(async (c) => {
      let raw: string;
      try {
        raw = await c.listDir(path, this.mlsd);
      } catch (err) {
        if (!(err instanceof ListingCutShort) || err.text !== cut) {
          if (err instanceof ListingCutShort) cut = err.text;
          throw err; // asked again (426)
        }
        raw = err.text;
      }
      const unparsed: string[] = [];
      const items = parseListing(raw, Date.now(), unparsed);
      if (unparsed.length > 0) {
        throw new UnreadableListing(
          `${unparsed.length} line(s) of the listing are of no known form, such as "${
            unparsed[0]!.slice(0, 80)
          }"`,
        );
      }
      return items;
    });
  }

  async list(options: ListOptions = {}): Promise<Listing> {
    const skip = await loadFilter(options.exclude ?? []);
    const scope = normaliseScope(options.under);
    const entries: Entry[] = [];
    const problems: Listing["problems"] = [];
    const skipped: Listing["skipped"] = [];
    const leadsTo = (dir: string) =>
      !scope || inScope(dir, scope) || scope.some((s) => s.startsWith(dir === "" ? "" : dir + "/"));
    // A queue of folders, listed by as many connections as the pool has.
    const queue: string[] = [""];
    /** Files whose listed time cannot tell whether they are the version the state knows. */
    const unsure: Unsure[] = [];
    this.#temps = [];
    let active = 0;
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (active < this.#max && queue.length > 0) {
          const dir = queue.shift()!;
          active++;
          this.#listDir(this.abs(dir)).then(
            (items) => {
              for (const it of items) {
                this.#take(dir, it, options, skip, scope, entries, skipped, queue, leadsTo, unsure);
              }
            },
            (err) => {
              problems.push({ key: dir, message: `cannot list: ${describeError(err)}` });
            },
          ).finally(() => {
            active--;
            if (active === 0 && queue.length === 0) resolve();
            else pump();
          });
        }
      };
      pump();
    });
    await this.#settle(unsure);
    await this.#exactTimes(entries.filter((e) => e.precision! > 1000));
    await this.#tidy(problems.length === 0 && !scope);
    entries.sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    return { entries, problems, skipped };
  }

  /**
   * Delete the temporary names that earlier runs left (those their journal rows name, and
   * ferry's probe); after a whole listing that saw every folder, their rows go too.
   */
  async #tidy(whole: boolean): Promise<void> {
    if (!this.#journal) return;
    const stale = this.#temps.filter((t) =>
      t.owner === undefined
        ? t.path.endsWith("/" + PROBE_NAME)
        : (this.#staleRuns.has(t.owner) || t.owner === Deno.pid) && !this.#mine.has(t.path)
    );
    let failed = 0;
    for (const t of stale) {
      const res = await this.#use((c) => ask(c, `DELE ${t.path}`)).catch(() => undefined);
      if (!res || res.code >= 300 && res.code !== 550) failed++;
    }
    if (!whole || failed > 0) return;
    for (const [pid, row] of this.#staleRuns) {
      if (pid !== Deno.pid) this.#journal.remove(this.id, row);
    }
    this.#staleRuns.clear();
  }

  #take(
    dir: string,
    it: ListedItem,
    options: ListOptions,
    skip: ((key: string, isDir: boolean) => boolean) | undefined,
    scope: string[] | undefined,
    entries: Entry[],
    skipped: Listing["skipped"],
    queue: string[],
    leadsTo: (dir: string) => boolean,
    unsure: Unsure[],
  ): void {
    const realDir = this.#real.get(dir) ?? dir;
    const rel = realDir === "" ? it.name : `${realDir}/${it.name}`;
    let key: string;
    try {
      if (it.name.includes("/")) throw new Error("a name with a slash");
      key = checkKey(joinKey(dir, it.name.normalize("NFC")));
    } catch {
      skipped.push({ key: rel, reason: "unsafe name (refused)" });
      return;
    }
    if (rel !== key) this.#real.set(key, rel);
    if (isTempName(it.name)) {
      this.#temps.push({
        path: this.abs(dir) + (dir === "" && this.#root === "/" ? "" : "/") + it.name,
        owner: tempOwner(it.name),
      });
      return;
    }
    if (it.name === FERRY_DIR) return; // ferry's own folder, at any depth
    if (it.kind === "link" || it.kind === "other") {
      skipped.push({
        key,
        reason: it.kind === "link" ? "symbolic link (not followed)" : "special file",
      });
      return;
    }
    const isDir = it.kind === "dir";
    if (skip?.(key, isDir)) return;
    if (isDir) {
      if (!leadsTo(key)) return;
      this.#dirs.add(key);
      entries.push({ key, kind: "dir", size: 0, mtime: it.time });
      queue.push(key);
      return;
    }
    if (!inScope(key, scope)) return;
    entries.push(this.#entry(key, it, options.known, unsure));
  }

  /**
   * A listed file's entry. While its stamp is the one the state recorded, the state's exact
   * time stands for the file's. A time listed to the minute (or the day) cannot prove that,
   * while that minute is recent: a file written again to the same size within it keeps its
   * stamp. Such a file goes to `unsure`, where MDTM settles it (see `#settle`).
   */
  #entry(key: string, it: ListedItem, known?: ListOptions["known"], unsure?: Unsure[]): Entry {
    const e: Entry = { key, kind: "file", size: it.size, mtime: it.time, stamp: stampOf(it) };
    this.#sizes.set(key, it.size);
    const k = known?.get(key);
    if (
      unsure && it.precision > 1000 && this.#features?.has("MDTM") &&
      (this.#recent(it) || k?.stamp?.startsWith(e.stamp + AT))
    ) {
      e.precision = it.precision;
      unsure.push(k ? { e, it, k } : { e, it });
      return e;
    }
    if (k && k.stamp === e.stamp && k.size === e.size) {
      e.mtime = k.mtime; // the exact time ferry wrote, while the file is the one it wrote
      return e;
    }
    this.#listedTime(e, it.precision);
    return e;
  }

  /** An entry keeps the time the server gave, with its precision. */
  #listedTime(e: Entry, precision: number): void {
    e.precision = precision;
    // Where the server cannot set times, a time it shows is when the file was uploaded.
    if (this.#setTime === "none") e.mtimeKind = "upload";
  }

  /**
   * Whether a time listed to the minute (or day) may still be the server's current minute:
   * within the clock skew we allow, in the listing's zone (until MDTM told it, any zone).
   */
  #recent(it: ListedItem): boolean {
    return it.time + it.precision + CLOCK_SKEW > Date.now() + (this.#zone ?? -WEST_MOST);
  }

  /**
   * The files of `#entry`'s `unsure`, settled by MDTM: while a file's listed minute is recent,
   * its stamp carries the second MDTM gives (a write within the minute changes that); once the
   * minute is old, the stamp is the listing's alone again, and a state that recorded the
   * second stands only if MDTM still gives it. The newest file is asked first: its answer
   * may tell the listing's zone, and with it which of the others are recent.
   */
  async #settle(unsure: Unsure[]): Promise<void> {
    if (unsure.length === 0) return;
    unsure.sort((a, b) => b.it.time - a.it.time);
    const one = async ({ e, it, k }: Unsure) => {
      const base = e.stamp!;
      const old = !this.#recent(it);
      if (old && !k?.stamp?.startsWith(base + AT)) {
        if (k && k.stamp === base && k.size === e.size) {
          e.mtime = k.mtime;
          delete e.precision;
        } else this.#listedTime(e, it.precision);
        return;
      }
      const at = await this.#mdtm(e.key, it).catch(() => undefined);
      if (!at) {
        this.#listedTime(e, it.precision); // the listed time stands, with its precision
        return;
      }
      const exact = base + AT + at.text;
      if (this.#recent(it)) e.stamp = exact;
      if (k && k.size === e.size && (k.stamp === e.stamp || k.stamp === exact)) {
        e.mtime = k.mtime;
        delete e.precision;
        return;
      }
      e.mtime = at.time;
      this.#listedTime(e, at.precision);
    };
    if (this.#zone === undefined) await one(unsure.shift()!);
    await this.#eachOver(unsure, one);
  }

  /** Run `fn` over `items`, as many at once as the pool has connections. */
  async #eachOver<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < items.length) await fn(items[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.#max, items.length) }, worker));
  }

  /**
   * A file's time by MDTM (UTC, to the second): its text and its time. Where the listing's
   * time of it is to the minute, the two tell the listing's zone (a multiple of 15 minutes).
   */
  async #mdtm(
    key: string,
    it?: ListedItem,
  ): Promise<{ text: string; time: number; precision: number } | undefined> {
    const res = await this.#use((c) => ask(c, `MDTM ${this.abs(key)}`));
    const m = /^213 (\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d{1,3}))?/.exec(res.message);
    if (!m) return undefined;
    const time = Date.UTC(
      +m[1]!,
      +m[2]! - 1,
      +m[3]!,
      +m[4]!,
      +m[5]!,
      +m[6]!,
      m[7] ? +m[7].padEnd(3, "0") : 0,
    );
    const zone = it?.precision === 60_000
      ? Math.round((it.time - time) / QUARTER_HOUR) * QUARTER_HOUR
      : NaN;
    // A gap between the two is the listing's zone (none is over 14 hours from UTC). No gap
    // tells nothing: a server set to local time (vsftpd's use_localtime, Debian's default)
    // gives MDTM in its zone too, so the zone stays unknown and every zone is allowed for.
    if (zone !== 0 && Math.abs(zone) <= 14 * 3_600_000) this.#zone ??= zone;
    return { text: res.message.slice(4).trim(), time, precision: m[7] ? 1 : 1000 };
  }

  /** The stamp of a file as a listing gives it (with MDTM's second while its minute is recent). */
  async #stampOf(key: string, it: ListedItem): Promise<string> {
    const unsure: Unsure[] = [];
    const e = this.#entry(key, it, undefined, unsure);
    await this.#settle(unsure);
    return e.stamp!;
  }

  async stat(key: string): Promise<Entry | undefined> {
    const it = await this.#statItem(key);
    if (!it) return undefined;
    if (it.kind === "dir") return { key, kind: "dir", size: 0, mtime: it.time };
    const unsure: Unsure[] = [];
    const e = this.#entry(key, it, undefined, unsure);
    await this.#settle(unsure);
    if (e.precision! > 1000) await this.#exactTimes([e]);
    return e;
  }

  /**
   * Files listed with a coarse time (LIST: a minute, or a day) that ferry did not write: their
   * time to the second, in UTC, by MDTM where the server has it. Only files the state does not
   * know cost a request.
   */
  async #exactTimes(entries: Entry[]): Promise<void> {
    if (entries.length === 0 || !this.#features?.has("MDTM")) return;
    await this.#eachOver(entries, async (e) => {
      const at = await this.#mdtm(e.key).catch(() => undefined);
      if (!at) return; // the listed time stands, with its precision
      e.mtime = at.time;
      e.precision = at.precision;
    });
  }

  async #statItem(key: string): Promise<ListedItem | undefined> {
    const path = this.abs(key);
    if (this.mlsd) return await this.#mlst(path);
    if (key === "") return undefined;
    const real = this.abs(key);
    const name = real.slice(real.lastIndexOf("/") + 1);
    try {
      const items = await this.#listDir(this.abs(parentKey(key)));
      return items.find((i) => i.name === name) ??
        items.find((i) => i.name.normalize("NFC") === name.normalize("NFC"));
    } catch (err) {
      if (err instanceof FtpReplyError && err.code >= 500) return undefined;
      throw err;
    }
  }

  /**
   * Stream a file. The stream ends only when the server has confirmed the transfer and every
   * byte the listing counted has arrived: a data connection cut short (which some servers
   * still confirm) is an error, never a shorter file.
   */
  /** Whether a server path (a temporary name) is there. */
  async #exists(path: string): Promise<boolean> {
    if (this.mlsd) return (await this.#mlst(path)) !== undefined;
    return (await this.#sizeOf(path).catch(() => undefined)) !== undefined;
  }

  /** One path's facts by MLST (on the control connection), or undefined when it is not there. */
  async #mlst(path: string): Promise<ListedItem | undefined> {
    return await this.#use(async (c) => mlstFacts(await ask(c, `MLST ${path}`)));
  }

  /**
   * Stream a file. The stream ends only when the server has confirmed the transfer and every
   * byte the listing counted has arrived: a data connection cut short (which some servers
   * still confirm) is an error, never a shorter file. A transfer that drops is taken up again
   * on a fresh connection where it stopped (REST), or from the start if nothing came yet.
   */
  async read(key: string): Promise<ReadableStream<Uint8Array>> {
    const path = this.abs(key);
    const expected = this.#sizes.get(key) ?? await this.#sizeOf(path);
    let conn: FtpSession | undefined = await this.#acquire();
    let got = 0;
    let resume: (() => void) | undefined;
    let cancelled = false;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const out = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
      },
      pull() {
        const r = resume;
        resume = undefined;
        r?.();
      },
      cancel() {
        cancelled = true;
        conn?.close(); // the transfer is abandoned: this connection is done
        const r = resume;
        resume = undefined;
        r?.();
      },
    }, { highWaterMark: 4 });
    const sink = (chunk: Uint8Array) => {
      if (cancelled) return;
      // Never more than the listing promised: what comes past it is not this file's (another
      // transfer's bytes, or a file changed since it was listed), and no reader gets any of it.
      if (expected !== undefined && got + chunk.byteLength > expected) {
        throw new WrongSize(
          `"${key}": more than the ${expected} bytes listed arrived (the file changed, or the data is not this file's)`,
        );
      }
      got += chunk.byteLength;
      controller.enqueue(chunk);
      // Backpressure: the next chunk is read once the reader wants more.
      if ((controller.desiredSize ?? 1) <= 0) return new Promise<void>((r) => resume = r);
    };
    const canResume = this.#features?.has("REST") ?? false;
    (async () => {
      let delay = this.#o.retryDelay ?? 200;
      for (let attempt = 1;; attempt++) {
        const c = conn ?? await this.#acquire();
        conn = c;
        try {
          await c.retrieve(path, sink, expected, got);
          this.#release(c);
          conn = undefined;
          break;
        } catch (err) {
          this.#release(c, !(err instanceof FtpReplyError));
          conn = undefined;
          const again = !cancelled && attempt < ATTEMPTS && transient(err) &&
            (got === 0 || canResume);
          if (!again) throw err;
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 2000);
        }
      }
    })().then(
      () => {
        if (cancelled) return;
        if (expected !== undefined && got !== expected) {
          controller.error(
            new Error(`"${key}": ${got} of ${expected} bytes arrived (transfer cut short)`),
          );
        } else controller.close();
      },
      (err) => {
        if (cancelled) return;
        controller.error(
          err instanceof FtpReplyError && err.code === 550
            ? new Deno.errors.NotFound(`"${key}": ${describeError(err)}`)
            : err,
        );
      },
    );
    return out;
  }

  async write(key: string, data: ReadableStream<Uint8Array>, meta: WriteMeta): Promise<Entry> {
    checkKey(key);
    const final = this.abs(key);
    await this.mkdir(parentKey(key));
    // Each try uploads to a name of its own: after a dropped connection the server may still
    // be writing the last try's file.
    const tries: string[] = [];
    let tmpKey = "";
    const nextTmp = () => {
      tmpKey = joinKey(parentKey(key), tempName());
      const t = this.abs(tmpKey);
      tries.push(t);
      this.#mine.add(t);
      return t;
    };
    let tmp = "";
    this.#journalRun();
    let sent = 0;
    let stamp: string | undefined;
    // Where the server can tell its own hash of a file, the upload's is compared with it before
    // the rename: a file of the right size with other bytes never takes the real name. Files up
    // to RETRY_BUFFER only: the server reads the file again for it, within the reply timeout.
    const hashName = meta.size <= RETRY_BUFFER ? hashOffered(this.#features) : undefined;
    const hasher: Hash | undefined = hashName ? createHash(HASHES[hashName]!) : undefined;
    let digest: string | undefined;
    const wanted = () => digest ??= hasher?.digest("hex");
    const counted = () =>
      data.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, c) {
            sent += chunk.byteLength;
            hasher?.update(chunk);
            c.enqueue(chunk);
          },
        }),
      );
    const timeCmd = this.#inlineTimeCommand();
    /** The rename into place, where it was tried on the upload's own connection. */
    let renamed: RenameAnswer | undefined;
    /** The time was set and the size asked for in one go with the upload. */
    let inline = false;
    try {
      // A small file is read whole first: an upload cut by a dropped connection is then tried
      // again here, on a fresh connection, without reading the source again.
      const held = bytesOf(data);
      const whole = held ? [held] : meta.size <= RETRY_BUFFER ? await readChunks(data) : undefined;
      if (whole) {
        sent = whole.reduce((n, c) => n + c.byteLength, 0);
        for (const chunk of whole) hasher?.update(chunk);
      }
      let facts: ListedItem | undefined;
      let got: number | undefined;
      /** The server's hash of the upload was found to be the upload's. */
      let sameHash = false;
      await this.#use(async (c) => {
        tmp = nextTmp();
        const then = this.#commandsAfterUpload(timeCmd, meta.mtime, tmp);
        renamed = undefined;
        sameHash = false;
        const replies = await c.store(tmp, whole ?? counted(), then);
        inline = then.length > 1 && replies.every((r) => r.code >= 200 && r.code < 300);
        if (inline) {
          if (this.mlsd) {
            facts = mlstFacts(replies[1]!);
            got = facts?.size;
          } else got = sizeReply(replies[1]!);
          // The server holds every byte: renamed into place at once, on this connection. A
          // rename that fails on the way is tried again below, on another, never the upload.
          sameHash = got === sent &&
            await this.#sameHash(c, tmp, hashName, wanted()).catch(() => false);
          if (sameHash) renamed = await rename(c, tmp, final).catch(() => undefined);
        }
      }, whole !== undefined);
      this.bytesWritten += sent;
      if (inline) this.#setTime = timeCmd;
      else {
        await this.#setModTime(tmp, meta.mtime);
        // The server must hold every byte before the file takes its real name. MLST tells the
        // size and the stamp at once (a rename keeps the time and the unique id); LIST servers
        // are asked the SIZE, and their stamp is read after the rename.
        facts = this.mlsd ? await this.#mlst(tmp) : undefined;
        got = facts ? facts.size : await this.#sizeOf(tmp);
      }
      // No upload takes its real name unchecked: where neither MLST nor SIZE told the size (a
      // server with neither, or an answer that did not read as one), its folder's listing does.
      got ??= (await this.#statItem(tmpKey))?.size;
      if (got !== sent) {
        throw new Error(
          got === undefined
            ? `the server did not say how many bytes it holds of "${key}"; not put in place`
            : `the server holds ${got} of ${sent} bytes (upload cut short)`,
        );
      }
      if (
        hashName && !sameHash && !await this.#use((c) => this.#sameHash(c, tmp, hashName, wanted()))
      ) {
        throw new Error(
          `the server's ${hashName} of "${key}" is not that of the bytes sent; not put in place`,
        );
      }
      await this.#renameInto(key, tmp, final, sent, renamed);
      if (facts) stamp = stampOf(facts);
    } catch (err) {
      await this.#dropTries(tries);
      throw err;
    }
    await this.#dropTries(tries.filter((t) => t !== tmp));
    this.#mine.delete(tmp);
    this.#sizes.set(key, sent);
    return await this.#writtenEntry(key, sent, meta.mtime, stamp);
  }

  /**
   * One journal row a run (not one a file): the next run's listing deletes every temporary
   * name this process made and did not clean up, then the row.
   */
  #journalRun(): void {
    if (this.#journal && !this.#runRow) {
      this.#runRow = `run:${Deno.pid}`;
      this.#journal.add(this.id, "", this.#runRow);
    }
  }

  /**
   * The command that sets a time, where it is known to work (or MFMT is offered and not known
   * to fail): then the time is set and the result asked for as the data ends, in one go with
   * the upload.
   */
  #inlineTimeCommand(): "MFMT" | "MDTM" | undefined {
    if (this.#setTime === "MFMT" || this.#setTime === "MDTM") return this.#setTime;
    return this.#setTime === undefined && this.#features?.has("MFMT") ? "MFMT" : undefined;
  }

  /** What to send as an upload's data ends: set its time, then ask its facts or its size. */
  #commandsAfterUpload(timeCmd: string | undefined, mtime: number, tmp: string): string[] {
    if (!timeCmd) return [];
    return [
      `${timeCmd} ${ftpTime(mtime)} ${tmp}`,
      ...(this.mlsd ? [`MLST ${tmp}`] : this.#features?.has("SIZE") ? [`SIZE ${tmp}`] : []),
    ];
  }

  /** The entry of a file just written, its stamp read where the upload did not tell it. */
  async #writtenEntry(
    key: string,
    size: number,
    mtime: number,
    stamp: string | undefined,
  ): Promise<Entry> {
    if (stamp === undefined) {
      const it = await this.#statItem(key);
      if (it) stamp = await this.#stampOf(key, it);
    }
    const e: Entry = { key, kind: "file", size, mtime };
    if (stamp !== undefined) e.stamp = stamp;
    return e;
  }

  /**
   * Whether the server's own hash of a file (HASH) is `want`: true where there is nothing to
   * compare (no hash offered, or an answer that gives none, such as a refusal).
   */
  async #sameHash(
    c: FtpSession,
    path: string,
    name: string | undefined,
    want: string | undefined,
  ): Promise<boolean> {
    if (!name || !want) return true;
    const res = await ask(c, `HASH ${path}`);
    const m = /^213 (\S+) \d+-\d+ ([0-9a-fA-F]+)/.exec(res.message);
    if (!m || m[1]!.toUpperCase() !== name) return true;
    return m[2]!.toLowerCase() === want;
  }

  /**
   * Delete the temporary names of failed tries. Whatever this leaves (a server may still be
   * creating a file after a dropped connection), the next run's listing deletes, by the run's
   * journal row.
   */
  async #dropTries(tries: string[]): Promise<void> {
    for (const t of tries) {
      await this.#use((c) => ask(c, `DELE ${t}`)).catch(() => undefined);
      this.#mine.delete(t);
    }
  }

  /** Rename an upload into place; where the server will not rename over a file, delete it first. */
  async #renameInto(
    key: string,
    tmp: string,
    final: string,
    size: number,
    tried?: RenameAnswer,
  ): Promise<void> {
    // A rename tried already (on the upload's connection) stands unless it failed on the way or
    // was answered "try again": then it is tried here, which also finds one that went through
    // with its answer lost.
    const first = tried ?? await this.#use((c) => rename(c, tmp, final));
    if (first.code < 400) return;
    if (first.fromMissing) {
      // No upload at the temporary name: an earlier try's rename went through and its answer
      // was lost (a dropped connection), or the upload is gone. Only the first is success.
      const there = await this.#statItem(key);
      const gone = !(await this.#exists(tmp));
      if (there?.kind === "file" && there.size === size && gone) return;
      throw new FtpReplyError(first);
    }
    // The window between the delete and the rename is written down: a crash in it is undone
    // by the next run (recoverUploads renames the complete upload into place).
    this.#journal?.add(this.id, key, `swap:${tmp}`);
    await this.#use((c) => must(c, `DELE ${final}`));
    const second = await this.#use((c) => rename(c, tmp, final));
    if (second.code >= 400) throw new FtpReplyError(second);
    this.#journal?.remove(this.id, `swap:${tmp}`);
  }

  async #sizeOf(path: string): Promise<number | undefined> {
    if (!this.#features?.has("SIZE")) return undefined;
    return await this.#use(async (c) => {
      const res = await ask(c, `SIZE ${path}`);
      const n = sizeReply(res) ?? NaN;
      if (!Number.isFinite(n)) {
        throw new Error(
          `the server gave no size for "${path}" (${new FtpReplyError(res).message})`,
        );
      }
      return n;
    });
  }

  /** Set a file's time where the server can; learns once which command works. */
  async #setModTime(path: string, mtime: number): Promise<void> {
    if (this.#setTime === "none") return;
    const t = ftpTime(mtime);
    const tries: ("MFMT" | "MDTM")[] = this.#setTime
      ? [this.#setTime]
      : this.#features?.has("MFMT")
      ? ["MFMT", "MDTM"]
      : ["MDTM"];
    for (const cmd of tries) {
      const res = await this.#use((c) => ask(c, `${cmd} ${t} ${path}`));
      if (res.code >= 200 && res.code < 300) {
        this.#setTime = cmd;
        return;
      }
    }
    this.#setTime ??= "none";
  }

  async remove(key: string): Promise<void> {
    const res = await this.#use((c) => ask(c, `DELE ${this.abs(key)}`));
    this.#sizes.delete(key);
    if (res.code < 400) return;
    if (res.code >= 500 && !(await this.#statItem(key))) {
      throw new Deno.errors.NotFound(`No such file "${key}"`);
    }
    throw new FtpReplyError(res);
  }

  async mkdir(key: string): Promise<void> {
    if (this.#dirs.has(key)) return;
    await this.mkdir(parentKey(key));
    const res = await this.#use((c) => ask(c, `MKD ${this.abs(key)}`));
    if (res.code >= 400) {
      const it = await this.#statItem(key);
      if (!it || it.kind !== "dir") {
        if (it) throw new Deno.errors.AlreadyExists(`"${key}" is a file`);
        throw new FtpReplyError(res);
      }
    }
    this.#dirs.add(key);
  }

  async rmdir(key: string): Promise<void> {
    await this.#use((c) => must(c, `RMD ${this.abs(key)}`));
    for (const d of this.#dirs) if (d === key || d.startsWith(key + "/")) this.#dirs.delete(d);
  }

  async listOwn(folder: string, top = false): Promise<Entry[]> {
    const out: Entry[] = [];
    const walk = async (key: string) => {
      let items: ListedItem[];
      try {
        items = await this.#listDir(this.abs(key));
      } catch (err) {
        if (!(await this.#statItem(key))) return; // no such folder: nothing in it
        throw err;
      }
      for (const it of items) {
        if (it.name === "." || it.name === ".." || isTempName(it.name)) continue;
        const k = joinKey(key, it.name.normalize("NFC"));
        // Only the names in the folder itself: one listing, however large the trash.
        if (top) out.push({ key: k, kind: it.kind === "dir" ? "dir" : "file", size: 0, mtime: 0 });
        else if (it.kind === "dir") await walk(k);
        else if (it.kind === "file") {
          out.push({ key: k, kind: "file", size: it.size, mtime: it.time });
        }
      }
    };
    await walk(checkKey(folder));
    return out;
  }

  async move(from: string, to: string): Promise<void> {
    // RNTO replaces a file on most servers: a move never does.
    if (await this.#statItem(to)) {
      throw new Deno.errors.AlreadyExists(`"${to}" is already there`);
    }
    await this.mkdir(parentKey(to));
    const res = await this.#use((c) => rename(c, this.abs(from), this.abs(to)));
    if (res.code >= 400) {
      // A try whose answer was lost may have moved it already.
      const done = res.fromMissing && !(await this.#statItem(from)) && await this.#statItem(to);
      if (!done) throw new FtpReplyError(res);
    }
    for (const d of [...this.#dirs]) {
      if (d === from || d.startsWith(from + "/")) {
        this.#dirs.delete(d);
        this.#dirs.add(to + d.slice(from.length));
      }
    }
    for (const [k, size] of [...this.#sizes]) {
      if (k === from || k.startsWith(from + "/")) {
        this.#sizes.delete(k);
        this.#sizes.set(to + k.slice(from.length), size);
      }
    }
    // Names below a moved folder keep their own spelling under the new one.
    const realFrom = this.#real.get(from) ?? from;
    for (const [k, v] of [...this.#real]) {
      if (k === from || k.startsWith(from + "/")) {
        this.#real.delete(k);
        if (k !== from) this.#real.set(to + k.slice(from.length), to + v.slice(realFrom.length));
      }
    }
  }

  async recoverUploads(journal: UploadJournal): Promise<number> {
    this.#journal = journal;
    let n = 0;
    for (const u of journal.list(this.id)) {
      const [kind, tmp] = [u.id.slice(0, u.id.indexOf(":")), u.id.slice(u.id.indexOf(":") + 1)];
      if (kind === "run") {
        // An earlier run's temporary names: deleted when this run lists the location.
        this.#staleRuns.set(Number(tmp), u.id);
        continue;
      }
      if (kind === "swap") {
        // Killed between deleting the old file and renaming the complete upload: finish it.
        const there = await this.#statItem(u.key).catch(() => undefined);
        if (!there) {
          await this.#use((c) => rename(c, tmp, this.abs(u.key))).catch(() => {});
        }
      }
      const res = await this.#use((c) => ask(c, `DELE ${tmp}`)).catch(() => undefined);
      // Deleted, or not there (550): done with; a failure to ask is tried again next run.
      if (res) journal.remove(this.id, u.id);
      if (res?.code === 250) n++;
    }
    return n;
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Connections still being opened are closed as they arrive.
    await Promise.allSettled([...this.#warming]);
    for (const c of this.#idle) c.close();
    this.#idle = [];
    for (const w of this.#waiting.splice(0)) w();
  }
}

/** A file listed with a coarse time, the state's record of it, and its entry to settle. */
interface Unsure {
  e: Entry;
  it: ListedItem;
  k?: KnownFile;
}

/** What joins a stamp's listed time and the second MDTM gave while that minute was recent. */
const AT = ":at=";

/**
 * A file's stamp: its size, the server's own text of its time and, where MLSD gives one, its
 * unique id (an inode: a file renamed over another has a new one).
 */
function stampOf(it: ListedItem): string {
  return `${it.size}:${it.raw}${it.unique ? `:${it.unique}` : ""}`;
}
