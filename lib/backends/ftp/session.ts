/**
 * One FTP control connection and the passive data connections it opens. Plain FTP runs on
 * Deno's own sockets ({@linkcode NativeSession}): a command costs a third of what it costs
 * through Node's `net` module here, and the commands of a rename go out together. FTPS runs on
 * `basic-ftp` (see `tls_session.ts`), because its data connections must resume the control
 * connection's TLS session, which only Node's `tls` module lets a client ask for.
 *
 * @module
 */

/** A server's reply: its code and its whole text (every line of a multi-line reply). */
export interface Reply {
  code: number;
  message: string;
}

/** A reply that says no (4xx: try again later; 5xx: never). */
export class FtpReplyError extends Error {
  override name = "FtpReplyError";
  readonly code: number;
  /** @param reply The server's reply. */
  constructor(reply: Reply) {
    super(`${reply.code} ${reply.message.replace(/^\d{3}[- ]/, "").trim()}`);
    this.code = reply.code;
  }
}

/** What the backend needs of a connection, whichever kind it is. */
export interface FtpSession {
  /** True once the connection failed or was closed: it takes no more commands. */
  readonly closed: boolean;
  /** Send one command; any reply resolves (a connection failure or a timeout rejects). */
  command(line: string): Promise<Reply>;
  /** Send commands together and take their replies in order. */
  commands(lines: string[]): Promise<Reply[]>;
  /** A folder's listing text: `MLSD path`, or `CWD path` then `LIST -a`. */
  listDir(path: string, mlsd: boolean): Promise<string>;
  /**
   * Download a file; `sink` takes each chunk (and may wait). Rejects unless it all arrived:
   * the server confirmed it, or (`size`, over TLS) that many bytes came.
   */
  retrieve(
    path: string,
    sink: (chunk: Uint8Array) => Promise<void> | void,
    size?: number,
    offset?: number,
  ): Promise<void>;
  /**
   * Upload a file from a stream; rejects unless the server confirmed the transfer. The
   * commands of `then` follow the confirmation, sent together, and their replies are returned.
   */
  store(
    path: string,
    source: ReadableStream<Uint8Array> | readonly Uint8Array[],
    then?: string[],
  ): Promise<Reply[]>;
  /**
   * Commands whose replies nothing waits on before the connection is handed on: they go out
   * with the next request made on it (or with {@linkcode FtpSession.flush}), and the promise
   * takes their replies. Where missing, the caller sends them itself.
   */
  defer?(lines: string[]): Promise<Reply[]>;
  /** Whether commands wait to go out with the next request. */
  readonly pending?: boolean;
  /** Send the commands that wait, now. */
  flush?(): Promise<void>;
  close(): void;
}

interface Deferred {
  lines: string[];
  resolve: (replies: Reply[]) => void;
  reject: (err: unknown) => void;
}

const enc = new TextEncoder();

/**
 * How long a server has to greet, ms: an FTP server greets at once, while a port of another
 * kind (a web server's) waits for the client to speak first.
 */
export const GREETING_TIMEOUT = 8_000;

/** What answers at the port is no FTP server: it greeted otherwise, or not at all. */
export class NotFtpServer extends Error {
  override name = "NotFtpServer";
}

/**
 * Nothing greeted within {@linkcode GREETING_TIMEOUT}: no FTP server, unless this server has
 * greeted before (then a stalled connection, worth trying again).
 */
export class NoGreeting extends NotFtpServer {
  override name = "NoGreeting";
}

/** A read or write that took longer than the timeout. */
export class FtpTimeout extends Error {
  override name = "FtpTimeout";
}

/**
 * A reply that cannot be the answer to the command it was read for (a transfer's "226" read
 * for MLST, a "250" for RNFR): the replies on that connection are out of step with the
 * commands, and any later one could be taken for another command's. The session is closed.
 */
export class FtpOutOfStep extends Error {
  override name = "FtpOutOfStep";
}

/** Commands that open a data connection: the only ones a 1xx, 225/226 or 425/426 answers. */
const TRANSFERS = new Set(["STOR", "RETR", "LIST", "MLSD", "NLST", "APPE"]);

/**
 * Whether `reply` can answer `command` (its first reply; `final`: a transfer's last one).
 * Loose by design (servers differ in their 2xx), strict where a stray reply shows: a
 * preliminary or transfer reply outside a transfer, a passive reply to anything but EPSV or
 * PASV, a 350 to anything but RNFR or REST, and an RNFR or REST answered with anything else.
 */
export function replyFits(command: string, reply: Reply, final = false): boolean {
  const sp = command.indexOf(" ");
  const verb = (sp < 0 ? command : command.slice(0, sp)).toUpperCase();
  const code = reply.code;
  if (code === 421 || code >= 500 && code < 600) return true; // closing, or no
  if (TRANSFERS.has(verb)) {
    if (code < 200) return !final;
    return code === 225 || code === 226 || code === 250 || code >= 400 && code < 500;
  }
  if (code < 200 || code === 225 || code === 226 || code === 425 || code === 426) return false;
  if (verb === "EPSV") return code === 229 || code >= 400;
  if (verb === "PASV") return code === 227 || code >= 400;
  if (code === 227 || code === 229) return false;
  if (verb === "RNFR" || verb === "REST") return code === 350 || code >= 400;
  if (code >= 300 && code < 400) return verb === "USER" || verb === "PASS" || verb === "ACCT";
  return code < 600;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

/** Plain FTP on Deno's sockets. */
export class NativeSession implements FtpSession {
  #conn: Deno.Conn;
  #host: string;
  #timeout: number;
  #text = "";
  #dec = new TextDecoder();
  #buf = new Uint8Array(16 << 10);
  #closed = false;
  /** EPSV until a server refuses it, then PASV. */
  #passive: "EPSV" | "PASV" = "EPSV";
  /** EPSV answered once: from then on it goes out with the transfer command. */
  #epsvWorks = false;
  /** Commands waiting to go out with the next request (see {@linkcode FtpSession.defer}). */
  #queued: Deferred[] = [];
  // One watchdog a session, not a timer a read or write (a tenth of a small upload's time):
  // the calls in flight on its sockets, and when one last made progress.
  #busy = 0;
  #since = 0;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  /** Set when the watchdog closed the session: what it cut short throws FtpTimeout. */
  #expired = false;
  /** The last data connection opened: closed with the session when it expires. */
  #data: Deno.Conn | undefined;
  /** Rejects when the session expires (a connection being made has nothing to close). */
  #expiry = Promise.withResolvers<never>();

  private constructor(conn: Deno.Conn, host: string, timeout: number) {
    this.#expiry.promise.catch(() => {}); // awaited only while a connection is being made
    this.#conn = conn;
    this.#host = host;
    this.#timeout = timeout;
  }

  /**
   * Connect and take the greeting.
   *
   * @param host Host name or address.
   * @param port Control port.
   * @param timeout Per-reply timeout, ms.
   * @returns The session, not logged in yet.
   */
  static async connect(host: string, port: number, timeout: number): Promise<NativeSession> {
    const conn = await withTimeout(Deno.connect({ hostname: host, port }), timeout, () => {});
    const s = new NativeSession(conn, host, Math.min(timeout, GREETING_TIMEOUT));
    let greeting: Reply;
    try {
      greeting = await s.#greeting();
    } catch (err) {
      s.close();
      if (err instanceof FtpTimeout) {
        throw new NoGreeting(
          `no FTP greeting within ${Math.min(timeout, GREETING_TIMEOUT) / 1000} s`,
        );
      }
      throw err;
    }
    s.#timeout = timeout;
    if (greeting.code >= 400) {
      s.close();
      throw new FtpReplyError(greeting);
    }
    return s;
  }

  /**
   * The server's greeting. Its first bytes tell an FTP server ("220 …") from another kind
   * that greets (an SSH server's "SSH-2.0-…"), which is told at once rather than waited on.
   */
  async #greeting(): Promise<Reply> {
    for (let reads = 0; reads < 1000; reads++) {
      const nl = this.#text.indexOf("\n");
      if (nl >= 0 || this.#text.length >= 4) {
        if (/^\d{3}[- ]/.test(this.#text)) return await this.#reply();
        const line = (nl >= 0 ? this.#text.slice(0, nl) : this.#text).trim();
        throw new NotFtpServer(
          `it greeted with "${line.slice(0, 40).replace(/[^\x20-\x7e]/g, "?")}"`,
        );
      }
      const n = await this.#read(this.#conn, this.#buf, "greeting");
      if (n === null) throw new Error("the server closed the connection before it greeted");
      this.#text += this.#dec.decode(this.#buf.subarray(0, n), { stream: true });
    }
    throw new NotFtpServer("its greeting never ended");
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    this.#dropData();
    try {
      this.#conn.close();
    } catch { /* closed already */ }
    const gone = new Error("the FTP connection is closed");
    for (const d of this.#queued.splice(0)) d.reject(gone);
  }

  get pending(): boolean {
    return this.#queued.length > 0;
  }

  defer(lines: string[]): Promise<Reply[]> {
    if (this.#closed) return Promise.reject(new Error("the FTP connection is closed"));
    const p = new Promise<Reply[]>((resolve, reject) =>
      this.#queued.push({ lines, resolve, reject })
    );
    p.catch(() => {}); // taken by whoever awaits it; never an unhandled rejection meanwhile
    return p;
  }

  async flush(): Promise<void> {
    if (this.#queued.length > 0) await this.#send("", "control socket");
  }

  /**
   * Write to the control connection, the commands that wait first (in one write), and take
   * their replies: the caller's replies follow them.
   */
  async #send(text: string, what: string): Promise<void> {
    if (this.#queued.length === 0) {
      await this.#write(this.#conn, enc.encode(text), what);
      return;
    }
    const queued = this.#queued.splice(0);
    const before = queued.map((d) => d.lines.map((l) => l + "\r\n").join("")).join("");
    try {
      await this.#write(this.#conn, enc.encode(before + text), what);
      for (const d of queued) {
        const replies: Reply[] = [];
        for (const l of d.lines) replies.push(await this.#answer(l));
        d.resolve(replies);
      }
    } catch (err) {
      for (const d of queued) d.reject(err); // no-op for those answered already
      throw err;
    }
  }

  /**
   * Wait for a call on this session's sockets. When no call in flight has made progress for
   * the timeout, the watchdog closes the session and its data connection: what was cut short
   * throws {@linkcode FtpTimeout}.
   */
  async #guard<T>(p: Promise<T>, what: string): Promise<T> {
    if (this.#busy++ === 0) this.#since = Date.now();
    this.#watchdog ??= this.#startWatchdog();
    try {
      return await p;
    } catch (err) {
      if (this.#expired) throw new FtpTimeout(`Timeout (${what})`);
      throw err;
    } finally {
      this.#busy--;
      this.#since = Date.now();
    }
  }

  #startWatchdog(): ReturnType<typeof setInterval> {
    const id = setInterval(() => {
      if (this.#busy > 0 && Date.now() - this.#since >= this.#timeout) this.#expire();
    }, Math.max(10, Math.min(1000, this.#timeout / 10)));
    id.unref(); // the calls it watches keep the process alive, not the watchdog
    return id;
  }

  #expire(): void {
    this.#expired = true;
    if (this.#data) closeQuietly(this.#data);
    this.#expiry.reject(new FtpTimeout("Timeout (data connection)"));
    this.close();
  }

  /** Read from a connection, closing this session if nothing comes within the timeout. */
  #read(conn: Deno.Conn, buf: Uint8Array, what: string): Promise<number | null> {
    return this.#guard(conn.read(buf), what);
  }

  #write(conn: Deno.Conn, data: Uint8Array, what: string): Promise<void> {
    return this.#guard(writeAll(conn, data), what);
  }

  /** The next complete reply (a multi-line reply ends at a line with its code and a space). */
  async #reply(): Promise<Reply> {
    for (let reads = 0; reads < 1_000_000; reads++) {
      const first = /^(\d{3})([- ])/.exec(this.#text);
      if (first) {
        const end = first[2] === " "
          ? this.#text.indexOf("\n")
          : findMultiLineEnd(this.#text, first[1]!);
        if (end >= 0) {
          const message = this.#text.slice(0, end + 1).replace(/\r?\n$/, "");
          this.#text = this.#text.slice(end + 1);
          return { code: Number(first[1]), message };
        }
      } else if (this.#text.length > 0 && this.#text.includes("\n")) {
        // A line that is no reply: skipped (never seen from a sane server).
        this.#text = this.#text.slice(this.#text.indexOf("\n") + 1);
        continue;
      }
      if (this.#closed) throw new Error("the FTP connection is closed");
      const n = await this.#read(this.#conn, this.#buf, "control socket");
      if (n === null) {
        this.close();
        throw new Error("Server sent FIN packet unexpectedly, closing connection.");
      }
      this.#text += this.#dec.decode(this.#buf.subarray(0, n), { stream: true });
    }
    throw new Error("no reply from the FTP server");
  }

  /**
   * The next reply, which must fit `command` (see {@linkcode replyFits}); one that does not
   * closes the session: every later reply on it could be taken for another command's.
   */
  async #answer(command: string, final = false): Promise<Reply> {
    const r = await this.#reply();
    if (replyFits(command, r, final)) return r;
    this.close();
    throw new FtpOutOfStep(
      `the FTP server answered "${command.split(" ")[0]}" with "${
        r.message.split(/\r?\n/)[0]!.slice(0, 80)
      }": its replies are out of step with the commands; the connection was closed`,
    );
  }

  async command(line: string): Promise<Reply> {
    if (this.#closed) throw new Error("the FTP connection is closed");
    this.#dropData();
    await this.#send(line + "\r\n", "control socket");
    return await this.#answer(line);
  }

  async commands(lines: string[]): Promise<Reply[]> {
    if (this.#closed) throw new Error("the FTP connection is closed");
    this.#dropData();
    await this.#send(lines.map((l) => l + "\r\n").join(""), "control");
    const out: Reply[] = [];
    for (const l of lines) out.push(await this.#answer(l));
    return out;
  }

  /**
   * Close the data connection of a transfer that was abandoned, if one is left: whatever it
   * still carries must never be read or written as part of the next transfer.
   */
  #dropData(): void {
    if (this.#data) closeQuietly(this.#data);
    this.#data = undefined;
  }

  /** A passive data connection: EPSV (the control connection's host), else PASV. */
  async #openData(): Promise<Deno.Conn> {
    let port: number | undefined;
    if (this.#passive === "EPSV") {
      await this.#send("EPSV\r\n", "control socket");
      const r = await this.#answer("EPSV");
      if (r.code === 229) {
        port = epsvPort(r.message);
        if (port !== undefined) this.#epsvWorks = true;
      } else if (r.code >= 500) this.#passive = "PASV";
      else throw new FtpReplyError(r);
    }
    if (port === undefined) {
      await this.#send("PASV\r\n", "control socket");
      const r = await this.#answer("PASV");
      const m = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(r.message);
      if (r.code !== 227 || !m) throw new FtpReplyError(r);
      // The address in the reply is ignored (a server behind NAT gives its inside one): data
      // goes to the host the control connection reached.
      port = Number(m[5]) * 256 + Number(m[6]);
    }
    return await this.#connectData(port);
  }

  #connectData(port: number): Promise<Deno.Conn> {
    const made = Deno.connect({ hostname: this.#host.replace(/^\[|\]$/g, ""), port });
    made.then((c) => {
      if (this.#closed) closeQuietly(c); // came after the session expired
      else this.#data = c;
    }, () => {});
    return this.#guard(Promise.race([made, this.#expiry.promise]), "data connection");
  }

  /**
   * Open a passive data connection and start `command` on it; its preliminary reply (150)
   * comes back with the connection. Once EPSV is known to work, EPSV and the command go out
   * together: one exchange less a file.
   */
  async #begin(command: string): Promise<{ data: Deno.Conn; pre: Reply }> {
    const data = await this.#start(command);
    let pre: Reply;
    try {
      pre = await this.#answer(command);
    } catch (err) {
      closeQuietly(data);
      throw err;
    }
    if (pre.code >= 400) {
      closeQuietly(data);
      throw new FtpReplyError(pre);
    }
    return { data, pre };
  }

  /** Send `command` with its data connection opened; its replies are the caller's to read. */
  async #start(command: string): Promise<Deno.Conn> {
    let data: Deno.Conn;
    this.#dropData();
    if (this.#epsvWorks) {
      await this.#send(`EPSV\r\n${command}\r\n`, "control socket");
      const r = await this.#answer("EPSV");
      const port = r.code === 229 ? epsvPort(r.message) : undefined;
      if (port === undefined) {
        // The command's own reply follows: a refusal, as there is no data connection. Anything
        // else (a transfer waiting for a connection that will not come) leaves the session out
        // of step with its commands.
        const own = await this.#answer(command).catch(() => undefined);
        if (!own || own.code < 400) this.close();
        throw new FtpReplyError(r.code >= 400 ? r : { code: 425, message: r.message });
      }
      try {
        data = await this.#connectData(port);
      } catch (err) {
        this.close(); // the server waits for a connection that will not come
        throw err;
      }
    } else {
      data = await this.#openData();
      try {
        await this.#send(command + "\r\n", "control socket");
      } catch (err) {
        closeQuietly(data);
        throw err;
      }
    }
    return data;
  }

  /** A transfer's final reply: after its preliminary one (150), unless that was the last. */
  async #transferEnd(command: string): Promise<Reply> {
    const pre = await this.#answer(command);
    return pre.code < 200 ? await this.#answer(command, true) : pre;
  }

  /**
   * Run a command that sends data to us, handing the data to `sink`.
   *
   * @returns The transfer's final reply.
   */
  async #download(
    command: string,
    sink: (chunk: Uint8Array) => Promise<void> | void,
  ): Promise<Reply> {
    const { data, pre } = await this.#begin(command);
    try {
      return await this.#drain(command, data, pre, sink);
    } finally {
      closeQuietly(data);
    }
  }

  /**
   * Read a data connection to its end into `sink`, then take the transfer's final reply.
   *
   * @returns That reply (a refusal is thrown).
   */
  async #drain(
    command: string,
    data: Deno.Conn,
    pre: Reply,
    sink: (chunk: Uint8Array) => Promise<void> | void,
  ): Promise<Reply> {
    for (let i = 0; i < 100_000_000; i++) {
      const buf = new Uint8Array(64 << 10);
      const n = await this.#read(data, buf, "data socket");
      if (n === null) break;
      await sink(buf.subarray(0, n));
    }
    closeQuietly(data);
    // 150 then 226; a server that had it all sent at once may have said 226 already.
    const final = pre.code >= 200 && pre.code < 300 ? pre : await this.#answer(command, true);
    if (final.code >= 400) throw new FtpReplyError(final);
    return final;
  }

  async listDir(path: string, mlsd: boolean): Promise<string> {
    if (!mlsd) {
      const r = await this.command(`CWD ${path}`);
      if (r.code >= 400) throw new FtpReplyError(r);
    }
    const dec = new TextDecoder();
    let text = "";
    const final = await this.#download(mlsd ? `MLSD ${path}` : "LIST -a", (c) => {
      text += dec.decode(c, { stream: true });
    });
    text += dec.decode();
    listingWhole(text, final, mlsd);
    return text;
  }

  async retrieve(
    path: string,
    sink: (chunk: Uint8Array) => Promise<void> | void,
    _size?: number,
    offset = 0,
  ): Promise<void> {
    if (offset > 0) {
      if (this.#closed) throw new Error("the FTP connection is closed");
      // REST goes right before RETR: a data connection is opened first (EPSV), so that
      // nothing comes between them.
      this.#dropData();
      const data = await this.#openData();
      try {
        await this.#send(`REST ${offset}\r\n`, "control socket");
        const rest = await this.#answer(`REST ${offset}`);
        if (rest.code !== 350) throw new FtpReplyError(rest);
        await this.#send(`RETR ${path}\r\n`, "control socket");
        const pre = await this.#answer(`RETR ${path}`);
        if (pre.code >= 400) throw new FtpReplyError(pre);
        await this.#drain(`RETR ${path}`, data, pre, sink);
      } finally {
        closeQuietly(data);
      }
      return;
    }
    await this.#download(`RETR ${path}`, sink);
  }

  async store(
    path: string,
    source: ReadableStream<Uint8Array> | readonly Uint8Array[],
    then: string[] = [],
  ): Promise<Reply[]> {
    // The data goes out without waiting for the preliminary reply (one exchange less a file):
    // the connection is open, and a refusal is the reply read after it.
    const data = await this.#start(`STOR ${path}`);
    try {
      if (source instanceof ReadableStream) {
        for await (const chunk of source) await this.#write(data, chunk, "data socket");
      } else for (const chunk of source) await this.#write(data, chunk, "data socket");
    } catch (err) {
      // The server sees the data end early: it answers (426 or 226), and the control
      // connection stays in step if that answer is read.
      closeQuietly(data);
      await this.#transferEnd(`STOR ${path}`).catch(() => this.close());
      throw err;
    }
    closeQuietly(data);
    // The commands that follow wait for the transfer's end: a server may read (and drop) what
    // arrives on the control connection during a transfer, looking for ABOR.
    const final = await this.#transferEnd(`STOR ${path}`);
    if (final.code >= 400) throw new FtpReplyError(final);
    return then.length > 0 ? await this.commands(then) : [];
  }
}

/**
 * The data connection ended before the listing did, though the server confirmed it: taken as
 * the "426 transfer aborted" it was (try again; the connection is in step).
 */
export class ListingCutShort extends FtpReplyError {
  override name = "ListingCutShort";
  /** The listing as it came. */
  readonly text: string;
  /**
   * @param why What gave the cut away.
   * @param text The listing as it came.
   */
  constructor(why: string, text: string) {
    super({ code: 426, message: `426 ${why}` });
    this.text = text;
  }
}

/**
 * Throw {@linkcode ListingCutShort} unless a listing arrived whole: its last line ends with a
 * line break (a data connection cut mid-line leaves a line that may still read as an entry, of
 * another name), and where the final reply to MLSD counts the entries (pure-ftpd's "226 15
 * matches total", "." and ".." among them), there are that many lines.
 *
 * @param text The listing.
 * @param final The transfer's final reply.
 * @param mlsd Whether it is an MLSD listing (one line an entry).
 */
export function listingWhole(text: string, final: Reply, mlsd: boolean): void {
  if (text.length > 0 && !text.endsWith("\n")) {
    throw new ListingCutShort(
      "the listing ended mid-line (its data connection was cut short)",
      text,
    );
  }
  const m = mlsd ? /\b(\d+) matches total/.exec(final.message) : null;
  const lines = text.split("\n").filter((l) => l.trim() !== "").length;
  if (m && Number(m[1]) !== lines) {
    throw new ListingCutShort(
      `the listing has ${lines} of the ${
        m[1]
      } lines the server sent (its data connection was cut short)`,
      text,
    );
  }
}

/** The port of an EPSV reply: `229 … (|||port|)`, any delimiter. */
function epsvPort(message: string): number | undefined {
  const m = /\(([^\d\s])\1\1(\d+)\1\)/.exec(message);
  return m ? Number(m[2]) : undefined;
}

function closeQuietly(c: Deno.Conn): void {
  try {
    c.close();
  } catch { /* closed already */ }
}

/** Where a multi-line reply with this code ends (the index of its last newline), or -1. */
function findMultiLineEnd(text: string, code: string): number {
  let at = text.indexOf("\n");
  while (at >= 0) {
    const next = text.indexOf("\n", at + 1);
    if (next < 0) return -1;
    if (text.startsWith(code + " ", at + 1)) return next;
    at = next;
  }
  return -1;
}

async function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  onTimeout: () => void,
  what = "connection",
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  // What the work does after the timeout is nobody's business, but it must not go unhandled,
  // and a connection that comes too late is closed.
  p.then((v) => {
    if (timedOut && v && typeof (v as { close?: unknown }).close === "function") {
      try {
        (v as unknown as { close(): void }).close();
      } catch { /* closed already */ }
    }
  }, () => {});
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      onTimeout();
      reject(new FtpTimeout(`Timeout (${what})`));
    }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
