/**
 * Chunks of encoded records (as the extension queues them) to decoded
 * records, through a real request body and the independent decoder.
 */
import { decodeOtlp } from '../../src/emulator/otlp-decode.js';
import type { OtlpChunk, OtlpProtocol } from '../../src/otel/chunks.js';
import { OtlpRequestEncoder } from '../../src/otel/request.js';

const CONTENT_TYPE: Record<OtlpProtocol, string> = {
  'http/protobuf': 'application/x-protobuf',
  'http/json': 'application/json',
};

export function decodeChunks(
  protocol: OtlpProtocol,
  chunks: readonly OtlpChunk[]
) {
  const requests = new OtlpRequestEncoder(protocol);
  const of = (signal: 'logs' | 'traces') =>
    decodeOtlp(
      `/v1/${signal}`,
      CONTENT_TYPE[protocol],
      Buffer.concat(
        requests.parts(
          signal,
          chunks.filter((c) => c.signal === signal)
        )
      )
    );
  return { logs: of('logs').logs, spans: of('traces').spans };
}
