/**
 * The emulator answers as lambda-apis.md §1-2 says Lambda does; each case
 * is a row of those tables.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TelemetryDelivery } from '../../src/emulator/delivery.js';
import {
  RuntimeApi,
  type RuntimeApiOptions,
} from '../../src/emulator/runtime-api.js';

const apis: RuntimeApi[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

async function api(over: Partial<RuntimeApiOptions> = {}) {
  const a = new RuntimeApi({
    functionName: 'fn',
    functionVersion: '$LATEST',
    handler: 'index.handler',
    accountId: '123456789012',
    executables: () => ['my-ext'],
    ...over,
  });
  await a.start();
  apis.push(a);
  const base = `http://${a.address}`;
  const call = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown
  ) => {
    const res = await fetch(base + path, {
      method,
      headers,
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      text,
      json: safeJson(text),
    };
  };
  const register = (
    name = 'my-ext',
    events: unknown = ['INVOKE', 'SHUTDOWN'],
    extra: Record<string, string> = {}
  ) =>
    call(
      'POST',
      '/2020-01-01/extension/register',
      { 'lambda-extension-name': name, ...extra },
      { events }
    );
  return { a, call, register };
}

function safeJson(
  text: string
): { errorType?: string; [k: string]: unknown } | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const subscription = (over: Record<string, unknown> = {}) => ({
  schemaVersion: '2025-01-29',
  types: ['platform', 'function'],
  buffering: { maxItems: 1_000, maxBytes: 262_144, timeoutMs: 25 },
  destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain:4243/' },
  ...over,
});

describe('register', () => {
  it('answers 200 with the identifier header and the function', async () => {
    const { register } = await api();
    const res = await register('my-ext', ['INVOKE', 'SHUTDOWN'], {
      'lambda-extension-accept-feature': 'accountId',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('lambda-extension-identifier')).toMatch(
      /^[0-9a-f-]{36}$/
    );
    expect(res.json).toEqual({
      functionName: 'fn',
      functionVersion: '$LATEST',
      handler: 'index.handler',
      accountId: '123456789012',
    });
  });

  it('gives the account id only when asked', async () => {
    const { register } = await api();
    expect((await register()).json?.accountId).toBeUndefined();
  });

  it.each([
    ['an empty name', '', ['SHUTDOWN'], 'Extension.InvalidExtensionName'],
    [
      'an unknown event',
      'my-ext',
      ['INVOKE', 'RESTORE'],
      'Extension.InvalidEventType',
    ],
    [
      'a name that is no executable, with SHUTDOWN',
      'other',
      ['SHUTDOWN'],
      'Extension.InvalidEventType',
    ],
  ])('refuses %s with 403', async (_n, name, events, errorType) => {
    const { register } = await api();
    const res = await register(name, events);
    expect(res.status).toBe(403);
    expect(res.json?.errorType).toBe(errorType);
  });

  it('refuses configurationKeys and malformed JSON as InvalidRequestFormat', async () => {
    const { call } = await api();
    const h = { 'lambda-extension-name': 'my-ext' };
    const a = await call('POST', '/2020-01-01/extension/register', h, {
      events: [],
      configurationKeys: ['x'],
    });
    const b = await call(
      'POST',
      '/2020-01-01/extension/register',
      h,
      '{"events":'
    );
    expect([a.status, a.json?.errorType]).toEqual([
      403,
      'InvalidRequestFormat',
    ]);
    expect([b.status, b.json?.errorType]).toEqual([
      403,
      'InvalidRequestFormat',
    ]);
  });

  it('refuses INVOKE on Managed Instances', async () => {
    const { register } = await api({ managedInstances: true });
    expect((await register('my-ext', ['INVOKE', 'SHUTDOWN'])).status).toBe(403);
    expect((await register('my-ext', ['SHUTDOWN'])).status).toBe(200);
  });

  it('refuses a second registration and any after init', async () => {
    const { a, register } = await api();
    expect((await register()).status).toBe(200);
    expect((await register()).json?.errorType).toBe(
      'Extension.InvalidExtensionState'
    );
    a.initDone = true;
    a.extensions.clear();
    expect((await register()).json?.errorType).toBe(
      'Extension.RegistrationClosed'
    );
  });
});

describe('event/next and errors', () => {
  it.each([
    ['missing', {}, 'Extension.MissingExtensionIdentifier'],
    [
      'not a UUID',
      { 'lambda-extension-identifier': 'abc' },
      'Extension.InvalidExtensionIdentifier',
    ],
    [
      'unknown',
      { 'lambda-extension-identifier': '00000000-0000-4000-8000-000000000000' },
      'Extension.UnknownExtensionIdentifier',
    ],
  ])('refuses an identifier that is %s', async (_n, headers, errorType) => {
    const { call } = await api();
    const res = await call(
      'GET',
      '/2020-01-01/extension/event/next',
      headers as Record<string, string>
    );
    expect(res.status).toBe(403);
    expect(res.json?.errorType).toBe(errorType);
  });

  it('holds /next until an event and sends it as JSON with an event id on INVOKE', async () => {
    const { a, call, register } = await api();
    const id = (await register()).headers.get(
      'lambda-extension-identifier'
    ) as string;
    const pending = call('GET', '/2020-01-01/extension/event/next', {
      'lambda-extension-identifier': id,
    });
    while (!a.allWaiting()) await new Promise((r) => setTimeout(r, 1));
    expect(a.initDone).toBe(true);
    a.send({
      eventType: 'INVOKE',
      deadlineMs: Date.now() + 3_000,
      requestId: 'r1',
    });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json?.requestId).toBe('r1');
    expect(res.headers.get('lambda-extension-event-identifier')).toMatch(
      /^[0-9a-f-]{36}$/
    );
  });

  it('answers init/error and exit/error with 202, and needs the error type header', async () => {
    const { a, call, register } = await api();
    const id = (await register()).headers.get(
      'lambda-extension-identifier'
    ) as string;
    const without = await call('POST', '/2020-01-01/extension/init/error', {
      'lambda-extension-identifier': id,
    });
    expect([without.status, without.json?.errorType]).toEqual([
      403,
      'Extension.MissingHeader',
    ]);
    const ok = await call('POST', '/2020-01-01/extension/exit/error', {
      'lambda-extension-identifier': id,
      'lambda-extension-function-error-type': 'Extension.Test',
    });
    expect([ok.status, ok.json]).toEqual([202, { status: 'OK' }]);
    expect(a.extensions.get(id)?.exitError).toContain('Extension.Test');
  });
});

describe('telemetry subscribe', () => {
  async function registered(over: Partial<RuntimeApiOptions> = {}) {
    const t = await api(over);
    const id = (await t.register()).headers.get(
      'lambda-extension-identifier'
    ) as string;
    const subscribe = (body: unknown) =>
      t.call(
        'PUT',
        '/2022-07-01/telemetry',
        {
          'lambda-extension-identifier': id,
          'content-type': 'application/json',
        },
        body
      );
    return { ...t, id, subscribe };
  }

  it('accepts a valid subscription with 200 "OK" and maps the host to loopback', async () => {
    const { a, id, subscribe } = await registered();
    const res = await subscribe(subscription());
    expect([res.status, res.text]).toEqual([200, '"OK"']);
    expect(a.extensions.get(id)?.subscription?.target.host).toBe(
      '127.0.0.1:4243'
    );
  });

  it.each([
    ['an unknown schema', { schemaVersion: '2020-01-01' }],
    ['empty types', { types: [] }],
    ['an unknown type', { types: ['platform', 'metrics'] }],
    [
      'maxItems below 1,000',
      { buffering: { maxItems: 999, maxBytes: 262_144, timeoutMs: 25 } },
    ],
    [
      'maxBytes above 1 MiB',
      { buffering: { maxItems: 1_000, maxBytes: 1_048_577, timeoutMs: 25 } },
    ],
    [
      'timeoutMs below 25',
      { buffering: { maxItems: 1_000, maxBytes: 262_144, timeoutMs: 24 } },
    ],
    [
      'another host',
      { destination: { protocol: 'HTTP', URI: 'http://127.0.0.1:4243/' } },
    ],
    [
      'no port',
      { destination: { protocol: 'HTTP', URI: 'http://sandbox.localdomain/' } },
    ],
    [
      'port 9001',
      {
        destination: {
          protocol: 'HTTP',
          URI: 'http://sandbox.localdomain:9001/',
        },
      },
    ],
    [
      'HTTPS',
      {
        destination: {
          protocol: 'HTTP',
          URI: 'https://sandbox.localdomain:4243/',
        },
      },
    ],
  ])('refuses %s with 400 ValidationError', async (_n, over) => {
    const { subscribe } = await registered();
    const res = await subscribe(subscription(over));
    expect([res.status, res.json?.errorType]).toEqual([400, 'ValidationError']);
  });

  it('closes subscriptions once init is over', async () => {
    const { a, subscribe } = await registered();
    a.initDone = true;
    const res = await subscribe(subscription());
    expect([res.status, res.json?.errorType]).toEqual([
      403,
      'Telemetry.SubscriptionClosed',
    ]);
  });

  it('answers 202 Telemetry.NotSupported where telemetry is not supported', async () => {
    const { subscribe } = await registered({ telemetryUnsupported: true });
    const res = await subscribe(subscription());
    expect([res.status, res.json?.errorType]).toEqual([
      202,
      'Telemetry.NotSupported',
    ]);
  });

  it('requires schema 2025-01-29 on Managed Instances', async () => {
    const t = await api({ managedInstances: true });
    const id = (await t.register('my-ext', ['SHUTDOWN'])).headers.get(
      'lambda-extension-identifier'
    ) as string;
    const res = await t.call(
      'PUT',
      '/2022-07-01/telemetry',
      { 'lambda-extension-identifier': id },
      subscription({ schemaVersion: '2022-12-13' })
    );
    expect(res.status).toBe(400);
  });
});

describe('delivery', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function listener(status = 200) {
    const batches: unknown[][] = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        batches.push(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    return { batches, target: new URL(`http://127.0.0.1:${port}/`) };
  }

  const sub = (
    target: URL,
    maxItems: number,
    timeoutMs: number,
    types = ['platform', 'function']
  ) => ({
    schemaVersion: '2025-01-29',
    types,
    buffering: { maxItems, maxBytes: 262_144, timeoutMs },
    uri: 'http://sandbox.localdomain:1/',
    target,
  });
  const ev = (i: number, type = 'function') => ({
    time: new Date().toISOString(),
    type,
    record: `line ${i}`,
  });

  it('posts a batch as soon as maxItems is reached, one at a time, in order', async () => {
    const { batches, target } = await listener();
    const d = new TelemetryDelivery(sub(target, 3, 30_000));
    for (let i = 0; i < 7; i++) d.emit(ev(i));
    const until = Date.now() + 2_000;
    while (batches.length < 2 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 5));
    d.stop();
    expect(batches.map((b) => b.length)).toEqual([3, 3]);
    expect(batches.flat().map((e) => (e as { record: string }).record)).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => `line ${i}`)
    );
  });

  it('posts after timeoutMs, only while thawed, and only subscribed types', async () => {
    const { batches, target } = await listener();
    const d = new TelemetryDelivery(sub(target, 1_000, 30));
    d.setThawed(false);
    d.emit(ev(1));
    d.emit(ev(2, 'extension'));
    await new Promise((r) => setTimeout(r, 100));
    expect(batches).toHaveLength(0);
    d.setThawed(true);
    const until = Date.now() + 2_000;
    while (batches.length < 1 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 5));
    // The listener has the batch; let the answer reach the delivery too.
    await d.idle();
    d.stop();
    expect(batches).toHaveLength(1);
    expect(d.log.map((l) => l.type)).toEqual(['function']);
    expect(d.stats.delivered).toBe(1);
  });

  it('drops a refused batch and reports it as logsDropped', async () => {
    const { target } = await listener(500);
    const dropped: number[] = [];
    const d = new TelemetryDelivery(sub(target, 1_000, 25), {
      onDropped: (events) => dropped.push(events.length),
    });
    d.emit(ev(1));
    d.emit(ev(2));
    const until = Date.now() + 2_000;
    while (dropped.length === 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 5));
    d.stop();
    expect(dropped).toEqual([2]);
    expect(d.stats.dropped).toBe(2);
  });
});
