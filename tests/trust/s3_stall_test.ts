/**
 * An S3 endpoint that takes connections and never answers (a TCP server on 127.0.0.1): a
 * network fault, given up within the stall budget (about a minute; a few hundred ms here, set
 * by `FERRY_S3_STALL_BUDGET_MS`), exit 1 and never 2 ("bad input"). Before, the SDK retried
 * each silent request six times (6 × 33 s = 199 s) and a store that stalled at the start ended
 * the run as bad input.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ferry, scratch } from "../cli/_run.ts";

/** A server that answers what `answer` says and holds every other request for ever. */
function stallingServer(answer: (requestLine: string) => string | undefined) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const requests: string[] = [];
  (async () => {
    for await (const conn of listener) {
      held.push(conn);
      (async () => {
        const buf = new Uint8Array(64 << 10);
        let text = "";
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) return;
            text += new TextDecoder().decode(buf.subarray(0, n));
            const end = text.indexOf("\r\n\r\n");
            if (end < 0) continue;
            const line = text.slice(0, text.indexOf("\r\n"));
            requests.push(line);
            const reply = answer(line);
            if (reply === undefined) return; // held: read no more, answer never
            text = text.slice(end + 4);
            await conn.write(new TextEncoder().encode(reply));
          }
        } catch { /* closed by the client */ }
      })();
    }
  })().catch(() => {});
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    requests,
    stop() {
      listener.close();
      for (const c of held) {
        try {
          c.close();
        } catch { /* closed */ }
      }
    },
  };
}

function http(status: string, body = "", type = "application/xml"): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\nContent-Length: ${
    new TextEncoder().encode(body).length
  }\r\nConnection: keep-alive\r\n\r\n${body}`;
}

const env = {
  AWS_ACCESS_KEY_ID: "x",
  AWS_SECRET_ACCESS_KEY: "y",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
  FERRY_S3_IDLE_TIMEOUT_MS: "300",
  FERRY_S3_STALL_BUDGET_MS: "600",
};

Deno.test("S3 stall: an endpoint that never answers is given up after its stall budget, exit 1 in one line", async () => {
  const server = stallingServer(() => undefined);
  const s = await scratch({ "a.txt": "a" });
  try {
    const started = Date.now();
    const r = await ferry(
      ["sync", s.src, "s3://bucket/p", "--endpoint", server.endpoint, "--path-style"],
      { env },
    );
    const took = Date.now() - started;
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^ferry: error: The endpoint of "s3:\/\/bucket\/p" does not answer \((1 try|\d tries) over \d s\): the store or the network is at fault; run again later\n$/,
    );
    // Silent tries of 300 ms (noticed a little late) reach the 600 ms budget after one to three,
    // however loaded the machine; the SDK alone made six.
    const tries = server.requests.length;
    assert.ok(tries >= 1 && tries <= 3, server.requests.join("\n"));
    assert.ok(took < 30_000, `${took} ms`);
  } finally {
    server.stop();
    await s.cleanup();
  }
});

Deno.test("S3 stall: a store that stalls after it opened stops the run with the files named, exit 1", async () => {
  // The bucket answers, lists empty and has no .ferryignore; every upload is held.
  const server = stallingServer((line) => {
    if (/^HEAD \/bucket\/? /.test(line)) return http("200 OK");
    if (/^HEAD \/bucket\/p\/\.ferryignore /.test(line)) return http("404 Not Found");
    if (/^GET \/bucket\/?\?/.test(line)) {
      return http(
        "200 OK",
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name>` +
          `<Prefix>p/</Prefix><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>`,
      );
    }
    return undefined;
  });
  const s = await scratch({});
  try {
    for (let i = 0; i < 40; i++) await Deno.writeTextFile(join(s.src, `f${i}.txt`), `${i}`);
    const r = await ferry(
      ["sync", s.src, "s3://bucket/p", "--endpoint", server.endpoint, "--path-style"],
      { env: { ...env, XDG_STATE_HOME: join(s.dir, "state") } },
    );
    assert.equal(r.code, 1, r.stderr + server.requests.join("\n"));
    assert.match(
      r.stderr,
      /f\d+\.txt: The endpoint of "s3:\/\/bucket\/p" does not answer/,
      server.requests.join("\n"),
    );
    assert.match(r.stderr, /Stopped: .*does not answer.*; \d+ operation\(s\) not attempted/);
    const puts = server.requests.filter((l) => l.startsWith("PUT ")).length;
    // Each upload gives up after a few silent tries, and the run stops after the first such
    // files: far fewer than 40 files × 6 tries.
    assert.ok(puts <= 3 * 16 + 16, `${puts} uploads tried`);
  } finally {
    server.stop();
    await s.cleanup();
  }
});

Deno.test("S3 stall: once a request is given up, the next ones fail at once instead of each waiting out the budget", async () => {
  // A source that lists 200 objects and holds every HEAD: the HEADs (16 at a time) would each
  // wait out the budget in turn, a run of 13 rounds (an hour at the default budget).
  const contents = Array.from(
    { length: 200 },
    (_, i) =>
      `<Contents><Key>p/f${i}.txt</Key><Size>1</Size><ETag>"e${i}"</ETag>` +
      `<LastModified>2024-01-01T00:00:00.000Z</LastModified><StorageClass>STANDARD</StorageClass></Contents>`,
  ).join("");
  const server = stallingServer((line) => {
    if (/^HEAD \/bucket\/? /.test(line)) return http("200 OK");
    if (/^HEAD \/bucket\/p\/\.ferryignore /.test(line)) return http("404 Not Found");
    if (/^GET \/bucket\/?\?/.test(line)) {
      return http(
        "200 OK",
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name>` +
          `<Prefix>p/</Prefix><KeyCount>200</KeyCount><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`,
      );
    }
    return undefined;
  });
  const s = await scratch({});
  try {
    const r = await ferry(
      ["sync", "s3://bucket/p", s.dst, "--endpoint", server.endpoint, "--path-style"],
      { env: { ...env, XDG_STATE_HOME: join(s.dir, "state") } },
    );
    assert.equal(r.code, 1, r.stderr + server.requests.join("\n"));
    assert.match(r.stderr, /does not answer/);
    const heads = server.requests.filter((l) => /^HEAD \/bucket\/p\/f/.test(l)).length;
    assert.ok(heads <= 3 * 16 + 16, `${heads} HEADs`);
  } finally {
    server.stop();
    await s.cleanup();
  }
});
