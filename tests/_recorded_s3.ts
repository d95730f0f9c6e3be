/**
 * A stand-in for the S3 HTTP layer that answers with responses shaped exactly like AWS's
 * documented ones, for what s3rver cannot do: versioning, restores of archived objects,
 * UploadPartCopy, and error answers such as RequestTimeTooSkewed.
 *
 * @module
 */
import { Readable } from "node:stream";

/** A request as the SDK hands it to its HTTP layer. */
export interface SeenRequest {
  method: string;
  path: string;
  query: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  /** The request body as text (empty when there was none). */
  body: string;
}

/** A recorded answer. */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** Route: decides whether it answers a request. */
export type Route = (req: SeenRequest) => Answer | undefined;

/**
 * An SDK request handler that answers from routes and records every request.
 *
 * @param routes Tried in order; the first answer wins. No answer is a 501.
 * @returns The handler and the requests it saw.
 */
export function recordedHandler(routes: Route[]) {
  const seen: SeenRequest[] = [];
  const handler = {
    metadata: { handlerProtocol: "http/1.1" },
    updateHttpClientConfig() {},
    httpHandlerConfigs() {
      return {};
    },
    destroy() {},
    async handle(request: {
      method: string;
      path: string;
      query?: Record<string, string | string[] | null>;
      headers: Record<string, string>;
      body?: unknown;
    }) {
      let text = "";
      const body = request.body;
      if (typeof body === "string") text = body;
      else if (body instanceof Uint8Array) text = new TextDecoder().decode(body);
      else if (body && typeof body === "object" && Symbol.asyncIterator in body) {
        for await (const c of body as AsyncIterable<Uint8Array | string>) {
          text += typeof c === "string" ? c : new TextDecoder().decode(c);
        }
      }
      const req: SeenRequest = {
        body: text,
        method: request.method,
        path: decodeURIComponent(request.path),
        query: request.query ?? {},
        headers: request.headers,
      };
      seen.push(req);
      const a = routes.map((r) => r(req)).find((x) => x !== undefined) ??
        { status: 501, body: xmlError("NotImplemented", "not recorded") };
      const bytes = typeof a.body === "string"
        ? new TextEncoder().encode(a.body)
        : a.body ?? new Uint8Array();
      return {
        response: {
          statusCode: a.status,
          reason: "",
          headers: { "content-length": String(bytes.length), ...a.headers },
          body: Readable.from([Buffer.from(bytes)]),
        },
      };
    },
  };
  return { handler, seen };
}

/**
 * An S3 error document.
 *
 * @param code Such as `NoSuchKey`.
 * @param message The message.
 * @returns The XML.
 */
export function xmlError(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
    `<RequestId>4442587FB7D0A2F9</RequestId><HostId>recorded</HostId></Error>`;
}

/** XML namespace S3 answers carry. */
export const NS = `xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`;
