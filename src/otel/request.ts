/**
 * An OTLP request body from chunks of encoded records (chunks.ts): the
 * chunks in order, consecutive ones of one resource and scope under one
 * ResourceLogs / ResourceSpans.
 */
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { OtlpChunk, OtlpProtocol, OtlpSignal } from './chunks.js';
import { jsonRequest, resourceJson, scopeJson } from './otlp-json.js';
import {
  protoRequestParts,
  resourceMessage,
  scopeMessage,
} from './otlp-proto.js';

export class OtlpRequestEncoder {
  // A resource changes once per instance at most: each is encoded once.
  private readonly _resources = new WeakMap<Resource, Buffer | string>();
  private readonly _scopes = new WeakMap<
    InstrumentationScope,
    Buffer | string
  >();

  constructor(private readonly _protocol: OtlpProtocol) {}

  /**
   * The body for these chunks as the parts to send in order. A protobuf
   * body is its framing plus the chunks' own buffers: a 1 MiB request needs
   * no 1 MiB buffer of its own, and the parts stay valid while the chunks
   * are queued (they are released only once sent or refused).
   */
  parts(signal: OtlpSignal, chunks: readonly OtlpChunk[]): Buffer[] {
    const runs: {
      resource: Resource;
      scope: InstrumentationScope;
      data: (Buffer | string)[];
    }[] = [];
    for (const c of chunks) {
      const last = runs.at(-1);
      if (last && last.resource === c.resource && last.scope === c.scope)
        last.data.push(c.data);
      else runs.push({ resource: c.resource, scope: c.scope, data: [c.data] });
    }
    if (this._protocol === 'http/json') {
      const body = jsonRequest(
        signal,
        runs.map((r) => ({
          resource: this._encoded(this._resources, r.resource, resourceJson),
          scope: this._encoded(this._scopes, r.scope, scopeJson),
          data: r.data as string[],
        }))
      );
      return [body];
    }
    return protoRequestParts(
      runs.map((r) => ({
        resource: this._encoded(this._resources, r.resource, resourceMessage),
        scope: this._encoded(this._scopes, r.scope, scopeMessage),
        data: r.data as Buffer[],
      }))
    );
  }

  private _encoded<K extends object, V extends Buffer | string>(
    cache: WeakMap<K, Buffer | string>,
    key: K,
    encode: (k: K) => V
  ): V {
    let v = cache.get(key) as V | undefined;
    if (v === undefined) {
      v = encode(key);
      cache.set(key, v);
    }
    return v;
  }
}
