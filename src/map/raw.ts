/**
 * DISPATCH_FORMAT=raw: each event serialized once, on receipt. The JSON text
 * is both the queue's byte measure and the request body part, so nothing is
 * serialized twice.
 */
import type { TelemetryEvent } from '../lambda/events.js';
import {
  DROP_REPORT_TYPE,
  type DropReport,
  type Emit,
  type Mapper,
} from './mapper.js';

/**
 * The raw format's mapper: one queue item per event (its JSON text, 1
 * event, its UTF-8 bytes); the drop report is an item of 0 events.
 */
export class RawMapper implements Mapper<string> {
  readonly pendingEvents = 0;
  readonly discardedEvents = 0;

  map(event: TelemetryEvent, out: Emit<string>): void {
    const json = JSON.stringify(event);
    out({ value: json, events: 1, bytes: Buffer.byteLength(json) });
  }

  noteInvoke(): void {}

  seal(): void {}

  drain(): void {}

  reportDrops(counts: DropReport, out: Emit<string>): void {
    const json = JSON.stringify({
      time: new Date().toISOString(),
      type: DROP_REPORT_TYPE,
      record: counts,
    });
    out({ value: json, events: 0, bytes: Buffer.byteLength(json) });
  }
}
