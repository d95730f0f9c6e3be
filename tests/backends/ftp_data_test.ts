/**
 * FTP transfers against a server in memory whose quirks happen every time: a rename that
 * must never put another upload's file at a real name.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { startMemoryFtp } from "../servers/ftp_memory.ts";

const MTIME = Date.UTC(2026, 0, 1);

function backend(port: number, path = "/up"): FtpBackend {
  return new FtpBackend({
    host: "127.0.0.1",
    port,
    user: "u",
    password: "p",
    path,
    secure: false,
    display: `ftp://127.0.0.1:${port}${path}`,
    connections: 1,
    timeout: 5000,
    retryDelay: 5,
  });
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

Deno.test("ftp write() renames only after RNFR was answered: on a server whose RNTO can run before its RNFR, no upload lands at another's name", async () => {
  const server = startMemoryFtp({ rntoFirst: true });
  server.dirs.add("/up");
  const b = backend(server.port);
  try {
    await b.open("write");
    const sent = new Map([["a.bin", bytes(100, 1)], ["b.bin", bytes(200, 2)]]);
    // Both at once over one connection: the second waits for it while the first is renamed.
    // A failed write is allowed (the run counts it and tries again); a wrong file is not.
    await Promise.all(
      [...sent].map(([key, data]) =>
        b.write(key, ReadableStream.from([data]), { size: data.length, mtime: MTIME })
          .catch(() => undefined)
      ),
    );
    for (const [key, data] of sent) {
      const there = server.files.get(`/up/${key}`);
      if (there) assert.deepEqual(there, data, `${key} holds another upload's bytes`);
    }
    // RNTO went out only right behind an RNFR answered 350 (never sent with it).
    const lines = server.received;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.startsWith("RNTO ")) assert.match(lines[i - 1]!, /^RNFR /);
    }
  } finally {
    await b.close();
    await server.stop();
  }
});
