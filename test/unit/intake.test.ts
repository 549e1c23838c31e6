import { describe, expect, it } from 'vitest';
import { Intake } from '../../src/intake.js';
import type { TelemetryEvent } from '../../src/lambda/events.js';
import type { TelemetryPipeline } from '../../src/pipeline/pipeline.js';
import { createLogger } from '../../src/util/log.js';

const T = '2026-01-01T00:00:00.000Z';
const ev = (type: string, record: unknown = {}): TelemetryEvent => ({
  time: T,
  type,
  record,
});

/** A pipeline that records what it is given to map. */
function recording() {
  const mapped: string[] = [];
  let restores = 0;
  const pipeline = {
    map: (e: TelemetryEvent) => {
      mapped.push(e.type);
    },
    seal: () => undefined,
    afterRestore: () => {
      restores++;
    },
  } as unknown as TelemetryPipeline;
  return { pipeline, mapped, restores: () => restores };
}

function intake(snapStart: boolean) {
  return new Intake({
    filters: {
      functionMinSeverity: undefined,
      extensionMinSeverity: undefined,
      include: [],
      exclude: [],
    },
    maxEarlyEvents: 100,
    snapStart,
    log: createLogger('silent'),
  });
}

describe('Intake and platform.restoreStart', () => {
  it('outside SnapStart, a stray restoreStart drops nothing held while the format loads', () => {
    const i = intake(false);
    i.receive([ev('platform.initStart'), ev('function', 'early line')]);
    i.receive([ev('platform.restoreStart')]);
    const r = recording();
    i.attach(r.pipeline);
    expect(r.mapped).toEqual([
      'platform.initStart',
      'function',
      'platform.restoreStart',
    ]);
    expect(i.snapshotDropped).toBe(0);
    expect(r.restores()).toBe(0);
  });

  it('with SnapStart, only the first restoreStart drops what the snapshot held; a second one drops nothing', () => {
    const i = intake(true);
    const r = recording();
    i.attach(r.pipeline);
    i.receive([ev('platform.initStart'), ev('function', 'snapshot line')]);
    expect(r.mapped).toEqual([]);
    i.receive([ev('platform.restoreStart'), ev('function', 'restored')]);
    expect(i.snapshotDropped).toBe(2);
    i.receive([ev('function', 'later'), ev('platform.restoreStart')]);
    expect(i.snapshotDropped).toBe(2);
    expect(r.restores()).toBe(1);
    expect(r.mapped).toEqual([
      'platform.restoreStart',
      'function',
      'function',
      'platform.restoreStart',
    ]);
  });

  it('with SnapStart, an invocation means the restore happened: what the snapshot held is dropped even when SHUTDOWN comes before the buffered restoreStart', () => {
    const i = intake(true);
    const r = recording();
    i.attach(r.pipeline);
    i.receive([ev('platform.initStart'), ev('platform.initReport')]);
    i.noteInvoke('r1');
    expect(i.snapshotDropped).toBe(2);
    i.releaseHeld();
    i.receive([ev('platform.restoreStart'), ev('platform.start')]);
    expect(i.snapshotDropped).toBe(2);
    expect(r.restores()).toBe(1);
    expect(r.mapped).toEqual(['platform.restoreStart', 'platform.start']);
  });
});
