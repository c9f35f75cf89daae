/** Small node:http helpers: JSON answers in the `{"error","message"}` shape and a size-limited body reader. */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The client went away before its request was complete: not an error of ours, and nothing to answer. */
export class RequestAborted extends Error {
  constructor() {
    super('the client closed the connection before the request was complete');
  }
}

/** How long a connection whose body was left unread may linger after its answer before it is destroyed. */
const UNREAD_BODY_LINGER_MS = 1000;

/**
 * An answer sent before the whole request body was read (413, a 400/401 decided on the headers) closes the
 * connection instead of reading the rest of the body to keep it alive: the answer goes out with
 * `Connection: close`, the socket stops reading and is ended, and destroyed if the client keeps it open.
 */
function closeIfBodyUnread(res: ServerResponse): Record<string, string> {
  const req = res.req as IncomingMessage | undefined;
  // A request without a body is not complete yet while its handler runs synchronously (GET /healthz).
  const hasBody =
    req?.headers['transfer-encoding'] !== undefined ||
    (req?.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  if (req === undefined || !hasBody || req.complete) return {};
  res.once('finish', () => {
    const socket = req.socket;
    req.pause();
    socket.pause();
    socket.end();
    setTimeout(() => socket.destroy(), UNREAD_BODY_LINGER_MS).unref();
  });
  return { connection: 'close' };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra?: Record<string, string>,
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...closeIfBodyUnread(res),
    ...extra,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: code, message });
}

/** Reads and parses a JSON body of at most `limit` bytes (plain listeners: no async iterator per request). */
export function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(
      new HttpError(413, 'payload_too_large', `request body is larger than ${limit} bytes`),
    );
  }
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    let size = 0;
    let failed = false;
    const onData = (b: Buffer): void => {
      if (failed) return;
      size += b.length;
      if (size > limit) {
        failed = true;
        req.removeListener('data', onData);
        req.pause();
        reject(new HttpError(413, 'payload_too_large', `request body is larger than ${limit} bytes`));
        return;
      }
      if (first === undefined) first = b;
      else (more ??= [first]).push(b);
    };
    req.on('data', onData);
    const aborted = (): void => {
      if (!failed) {
        failed = true;
        reject(new RequestAborted());
      }
    };
    // A request stream fails only when its connection does (reset, closed mid-body, request timeout).
    req.once('error', aborted);
    req.once('close', () => {
      if (!req.complete) aborted();
    });
    req.once('end', () => {
      if (failed) return;
      failed = true;
      if (size === 0 || first === undefined) {
        reject(new HttpError(400, 'invalid_request', 'request body must be a JSON object'));
        return;
      }
      const buf = more ? Buffer.concat(more, size) : first;
      try {
        resolve(JSON.parse(buf.toString('utf8')) as unknown);
      } catch {
        reject(new HttpError(400, 'invalid_request', 'request body is not valid JSON'));
      }
    });
  });
}
