/**
 * FTPS sessions on `basic-ftp`: explicit (AUTH TLS) or implicit TLS, with every data
 * connection resuming the control connection's TLS session (vsftpd's `require_ssl_reuse`,
 * proFTPD, FileZilla Server), which Node's `tls` module allows and Deno's own TLS does not.
 * Loaded only for `ftps://` locations.
 *
 * @module
 */
import { Client, FTPError } from "basic-ftp";
import { Readable, Writable } from "node:stream";
import {
  FtpReplyError,
  type FtpSession,
  GREETING_TIMEOUT,
  NoGreeting,
  type Reply,
} from "./session.ts";

/** How to reach a TLS server. */
export interface TlsSessionOptions {
  host: string;
  port: number;
  implicit: boolean;
  insecure: boolean;
  timeout: number;
}

function replyError(err: unknown): unknown {
  return err instanceof FTPError
    ? new FtpReplyError({ code: err.code, message: err.message })
    : err;
}

/** A server that takes no TLS, asked for it (`ftps://` to a plain FTP server). */
export class NoTls extends Error {
  override name = "NoTls";
}

/** An FTPS control connection (not logged in yet). */
export class TlsSession implements FtpSession {
  #client: Client;
  #raw = "";

  private constructor(client: Client) {
    this.#client = client;
    client.parseList = (raw: string) => {
      this.#raw = raw;
      return [];
    };
  }

  /**
   * Connect and secure the connection.
   *
   * @param o Host, port, TLS mode.
   * @returns The session.
   */
  static async connect(o: TlsSessionOptions): Promise<TlsSession> {
    const client = new Client(o.timeout);
    const tls = { host: o.host, ...(o.insecure ? { rejectUnauthorized: false } : {}) };
    // A port that never greets (a web server's) is given up after GREETING_TIMEOUT, not the
    // reply timeout: it is no FTP server.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = Math.min(o.timeout, GREETING_TIMEOUT);
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new NoGreeting(`no FTP greeting within ${wait / 1000} s`)),
        wait,
      );
    });
    try {
      const greeted = o.implicit
        ? client.connectImplicitTLS(o.host, o.port, tls)
        : client.connect(o.host, o.port);
      greeted.catch(() => {});
      await Promise.race([greeted, late]);
      clearTimeout(timer);
      if (!o.implicit) {
        await client.useTLS(tls).catch((err) => {
          // AUTH TLS refused: the server speaks plain FTP only.
          if (!(err instanceof FTPError)) throw err;
          throw new NoTls(
            `the server does not offer TLS (it answered AUTH TLS with "${err.code} ${
              err.message.replace(/^\d{3}[- ]/, "").trim()
            }"): use ftp:// for it`,
          );
        });
      }
    } catch (err) {
      clearTimeout(timer);
      client.close();
      throw replyError(err);
    }
    return new TlsSession(client);
  }

  get closed(): boolean {
    return this.#client.closed;
  }

  close(): void {
    this.#client.close();
  }

  async command(line: string): Promise<Reply> {
    return await this.#client.sendIgnoringError(line);
  }

  async commands(lines: string[]): Promise<Reply[]> {
    const out: Reply[] = [];
    for (const l of lines) out.push(await this.command(l));
    return out;
  }

  async listDir(path: string, mlsd: boolean): Promise<string> {
    this.#raw = "";
    try {
      if (mlsd) {
        this.#client.availableListCommands = ["MLSD"];
        await this.#client.list(path);
      } else {
        await this.#client.send(`CWD ${path}`);
        this.#client.availableListCommands = ["LIST -a"];
        await this.#client.list();
      }
    } catch (err) {
      throw replyError(err);
    }
    return this.#raw;
  }

  async retrieve(
    path: string,
    sink: (chunk: Uint8Array) => Promise<void> | void,
    size?: number,
    offset = 0,
  ): Promise<void> {
    let got = offset;
    let allThere = () => {};
    const all = new Promise<void>((resolve) => allThere = resolve);
    const w = new Writable({
      write(chunk: Uint8Array, _enc, cb) {
        // A copy: Node may hand out views of a buffer it reuses.
        Promise.resolve(sink(new Uint8Array(chunk))).then(() => cb(), cb);
        got += chunk.byteLength;
        if (got === size) allThere();
      },
    });
    const done = this.#client.downloadTo(w, path, offset);
    // Under Deno, a TLS data connection the server closes without a TLS goodbye may never
    // report its end: once every byte the listing counted is here, a short wait for the
    // confirmation, then this connection is given up (a new one serves the next request).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = size === undefined
      ? new Promise<never>(() => {})
      : all.then(() =>
        new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), 100))
      );
    try {
      const how = await Promise.race([done, settled]);
      if (how === "late") {
        done.catch(() => {});
        this.#client.close();
      }
    } catch (err) {
      throw replyError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  async store(
    path: string,
    source: ReadableStream<Uint8Array> | readonly Uint8Array[],
    then: string[] = [],
  ): Promise<Reply[]> {
    try {
      const from = source instanceof ReadableStream
        ? Readable.fromWeb(source as never)
        : Readable.from(source);
      await this.#client.uploadFrom(from, path);
    } catch (err) {
      throw replyError(err);
    }
    return await this.commands(then);
  }
}
