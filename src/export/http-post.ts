/**
 * POST with Node's own http/https, for both exporters.
 *
 * Not undici: measured here, bundled undici is 520 KiB of the layer's
 * JavaScript, about 24 MB of RSS once loaded, and tens of ms of compile
 * right after the first /next, competing with the function's own init for
 * the little CPU a small function has. An export is one POST at a time with
 * a deadline; Node's client does that.
 */
import type { Agent as HttpsAgent } from 'node:https';
import { nodeHttp } from '../util/http.js';
import {
  type ExportResult,
  resultForError,
  resultForStatus,
} from './result.js';

export interface PostClient {
  post(
    url: string,
    headers: Record<string, string>,
    /** Parts are sent in order, as one body. */
    body: string | Uint8Array | readonly Uint8Array[],
    signal: AbortSignal
  ): Promise<ExportResult>;
  close(): void;
}

/** Response bodies are drained (so sockets are reused) but not kept. */
export function createPostClient(opts: { ca?: string[] } = {}): PostClient {
  const http = new nodeHttp.Agent({ keepAlive: true, maxSockets: 4 });
  // TLS loads only for an https endpoint: node:https brings OpenSSL's
  // set-up, ~2.6 MiB of RSS that a plain-http collector never needs.
  let https: { module: typeof import('node:https'); agent: HttpsAgent };
  const tls = () => {
    if (https === undefined) {
      const module = process.getBuiltinModule(
        'node:https'
      ) as typeof import('node:https');
      https = {
        module,
        agent: new module.Agent({
          keepAlive: true,
          maxSockets: 4,
          ...(opts.ca ? { ca: opts.ca } : {}),
        }),
      };
    }
    return https;
  };
  return {
    post(url, headers, body, signal) {
      return new Promise((resolve) => {
        let settled = false;
        const done = (r: ExportResult): void => {
          if (settled) return;
          settled = true;
          resolve(r);
        };
        let req: ReturnType<typeof nodeHttp.request>;
        try {
          const target = new URL(url);
          const secure = target.protocol === 'https:';
          req = (secure ? tls().module.request : nodeHttp.request)(
            target,
            {
              method: 'POST',
              agent: secure ? tls().agent : http,
              signal,
              headers: {
                ...headers,
                'content-length': String(byteLength(body)),
              },
            },
            (res) => {
              res.on('data', () => undefined);
              res.on('end', () =>
                done(
                  resultForStatus(
                    res.statusCode ?? 0,
                    res.headers['retry-after']
                  )
                )
              );
              res.on('error', (err) => done(resultForError(err)));
            }
          );
        } catch (err) {
          done({
            status: 'failure',
            reason: `bad request: ${(err as Error).message}`,
          });
          return;
        }
        req.on('error', (err) => done(resultForError(err)));
        if (typeof body === 'string' || body instanceof Uint8Array) {
          req.end(body);
        } else {
          for (const part of body) req.write(part);
          req.end();
        }
      });
    },
    close() {
      http.destroy();
      https?.agent.destroy();
    },
  };
}

function byteLength(body: string | Uint8Array | readonly Uint8Array[]): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (body instanceof Uint8Array) return body.byteLength;
  let n = 0;
  for (const part of body) n += part.byteLength;
  return n;
}
