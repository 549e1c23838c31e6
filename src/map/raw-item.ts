/**
 * The raw format's "mapping": each event serialized once, on receipt. The
 * JSON text is both the queue's byte measure and the request body part, so
 * nothing is serialized twice.
 */
import type { TelemetryEvent } from '../lambda/events.js';
import type { QueueItem } from '../pipeline/queue.js';

export function toRawItem(event: TelemetryEvent): QueueItem<string> {
  const json = JSON.stringify(event);
  return { value: json, events: 1, bytes: Buffer.byteLength(json) };
}
