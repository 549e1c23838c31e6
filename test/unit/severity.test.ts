import { SeverityNumber } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { recordSeverity } from '../../src/lambda/filter.js';
import { severityOf } from '../../src/otel/logs.js';
import {
  MIN_SEVERITY_NAMES,
  SEVERITY_BY_NAME,
  SEVERITY_NUMBER,
  severityShortName,
} from '../../src/otel/severity.js';

describe('the one severity table', () => {
  it('uses the numbers of the OTel API SeverityNumber enum', () => {
    for (const [name, n] of Object.entries(SEVERITY_NUMBER)) {
      expect(n, name).toBe(SeverityNumber[name as keyof typeof SeverityNumber]);
    }
  });

  it.each(Object.keys(SEVERITY_BY_NAME))(
    'the receipt filter and the log mapper agree on %s',
    (name) => {
      expect(recordSeverity({ level: name.toLowerCase() })).toBe(
        severityOf(name)?.number
      );
    }
  );

  it('names every minimum a setting may take, and back', () => {
    for (const name of MIN_SEVERITY_NAMES) {
      const n = SEVERITY_BY_NAME[name];
      expect(n, name).toBeDefined();
      expect(severityShortName(n as number)).toBe(
        name === 'WARNING' ? 'WARN' : name
      );
    }
  });
});
