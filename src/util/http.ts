/**
 * A minimal HTTP/1.1 client on `node:http` for the two local Lambda APIs.
 *
 * Loaded through `createRequire` on purpose: an ES module `import` of
 * `node:http` costs about 45 ms of start-up (ecosystem.md B.6), and this code
 * runs before the first `/next`, where every millisecond is added to each
 * cold start. The export stack loads after the first `/next`.
 */
import { createRequire } from 'node:module';

const requireBuiltin = createRequire(import.meta.url);
/**
 * `node:http`, loaded through `createRequire` (see above); shared with the
 * listener so the module is loaded once.
 */
export const nodeHttp = requireBuiltin(
  'node:http'
) as typeof import('node:http');

/** A whole answer: `status` 0 when Node gave none, `body` decoded as UTF-8. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request: `body` is sent as UTF-8 with its byte length in
 * `content-length`.
 */
export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Absolute epoch ms after which the request is aborted; none = no limit. */
  deadlineMs?: number;
  /** Called once the request has been handed to the OS (not the answer). */
  onSent?: () => void;
}

// A dedicated agent without keep-alive: the long poll on /next must never sit
// on a socket that a previous request left half-closed across a freeze.
const agent = new nodeHttp.Agent({ keepAlive: false });

/**
 * Sends one request and reads the whole answer, whatever its status (the
 * caller judges it). Rejects on a socket error, or with `request to … timed
 * out` once `deadlineMs` (epoch ms) passes; never retries.
 */
export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) {
      headers['content-length'] = String(Buffer.byteLength(req.body));
    }
    const r = nodeHttp.request(
      req.url,
      { method: req.method, headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      }
    );
    let timer: NodeJS.Timeout | undefined;
    if (req.deadlineMs !== undefined) {
      timer = setTimeout(
        () => r.destroy(new Error(`request to ${req.url} timed out`)),
        Math.max(0, req.deadlineMs - Date.now())
      );
    }
    r.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (req.onSent) r.once('finish', req.onSent);
    r.end(req.body);
  });
}
