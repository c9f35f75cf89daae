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
        req.resume();
        reject(new HttpError(413, 'payload_too_large', `request body is larger than ${limit} bytes`));
        return;
      }
      if (first === undefined) first = b;
      else (more ??= [first]).push(b);
    };
    req.on('data', onData);
    req.once('error', (e) => {
      if (!failed) {
        failed = true;
        reject(e);
      }
    });
    req.once('end', () => {
      if (failed) return;
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
