/**
 * After a SnapStart restore the exporters drop their pooled connections
 * (every restored copy holds the same sockets): the next export opens a new
 * one. Real exporters against a real loopback server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createOtlpExporters } from '../../src/export/otlp.js';
import { createRawJsonExporter } from '../../src/export/raw-json.js';

interface Receiver {
  url: string;
  sockets: Socket[];
  closed: () => number;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function receiver(): Promise<Receiver> {
  const sockets: Socket[] = [];
  let closed = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  server.on('connection', (s: Socket) => {
    sockets.push(s);
    s.on('close', () => closed++);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, sockets, closed: () => closed };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end)
    await new Promise((r) => setTimeout(r, 5));
}

describe('dropConnections', () => {
  it('raw: the pooled connection is closed and the next export opens a new one', async () => {
    const rx = await receiver();
    const exporter = createRawJsonExporter({
      url: `${rx.url}/`,
      timeoutMs: 2000,
      maxRequestBytes: 1_000_000,
    });
    const deadline = () => Date.now() + 2000;
    expect((await exporter.export(['{}'], deadline())).status).toBe('success');
    expect((await exporter.export(['{}'], deadline())).status).toBe('success');
    expect(rx.sockets).toHaveLength(1); // kept alive
    exporter.dropConnections?.();
    await until(() => rx.closed() === 1);
    expect(rx.closed()).toBe(1);
    expect((await exporter.export(['{}'], deadline())).status).toBe('success');
    expect(rx.sockets).toHaveLength(2);
    await exporter.shutdown();
  });

  it('OTLP: the keep-alive agent sockets are destroyed and the next export opens a new one', async () => {
    const rx = await receiver();
    const exporters = createOtlpExporters({
      logs: { url: `${rx.url}/v1/logs`, headers: {} },
      traces: undefined,
      protocol: 'http/protobuf',
      compression: 'none',
      timeoutMs: 2000,
      concurrencyLimit: 2,
      ca: [],
    });
    const send = () =>
      new Promise<number>((resolve) =>
        exporters.logs?.export({ body: new Uint8Array(0), records: 0 }, (r) =>
          resolve(r.code)
        )
      );
    expect(await send()).toBe(0);
    expect(await send()).toBe(0);
    expect(rx.sockets).toHaveLength(1);
    exporters.dropConnections();
    await until(() => rx.closed() === 1);
    expect(rx.closed()).toBe(1);
    expect(await send()).toBe(0);
    expect(rx.sockets).toHaveLength(2);
    await exporters.logs?.shutdown();
  });
});
