import { describe, expect, it } from 'vitest';
import { createLogger, MAX_REPEATS_PER_KEY } from '../../src/util/log.js';

function capture(level: Parameters<typeof createLogger>[0]) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(level, (l) => lines.push(JSON.parse(l)));
  return { log, lines };
}

describe('logger', () => {
  it('writes one JSON line with level, message and fields', () => {
    const { log, lines } = capture('info');
    log.warn('queue full', { dropped: 3 });
    expect(lines).toEqual([
      {
        level: 'warn',
        ext: 'lambda-telemetry-otel',
        msg: 'queue full',
        dropped: 3,
      },
    ]);
  });

  it('drops entries below its level', () => {
    const { log, lines } = capture('warn');
    log.debug('d');
    log.info('i');
    log.error('e');
    expect(lines.map((l) => l.level)).toEqual(['error']);
  });

  it('caps a repeated message and says so on the last one', () => {
    const { log, lines } = capture('info');
    for (let i = 0; i < 50; i++) log.limited('warn', 'k', 'rejected');
    expect(lines).toHaveLength(MAX_REPEATS_PER_KEY);
    expect(lines.at(-1)?.msg).toContain('further ones not logged');
  });
});
