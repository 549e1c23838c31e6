// The floor any Node extension can reach: node:http only, register, listen,
// subscribe, first /next, then answer /next until SHUTDOWN. The benchmark
// starts it behind the same kind of launcher as ours.
'use strict';
const http = require('node:http');
const api = process.env.AWS_LAMBDA_RUNTIME_API;
const name = process.argv[2];
function call(method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `http://${api}${path}`,
      { method, headers },
      (res) => {
        let data = '';
        res.on('data', (c) => (data += c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: data })
        );
      }
    );
    req.on('error', reject);
    req.end(body);
  });
}
void (async () => {
  const reg = await call(
    'POST',
    '/2020-01-01/extension/register',
    { 'lambda-extension-name': name },
    JSON.stringify({ events: ['INVOKE', 'SHUTDOWN'] })
  );
  const id = reg.headers['lambda-extension-identifier'];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('OK'));
  });
  await new Promise((r) =>
    server.listen(
      0,
      process.env.LAMBDA_TELEMETRY_OTEL_LISTENER_HOST || 'sandbox.localdomain',
      r
    )
  );
  await call(
    'PUT',
    '/2022-07-01/telemetry',
    { 'lambda-extension-identifier': id, 'content-type': 'application/json' },
    JSON.stringify({
      schemaVersion: '2025-01-29',
      types: ['platform', 'function'],
      buffering: { maxItems: 1000, maxBytes: 262144, timeoutMs: 25 },
      destination: {
        protocol: 'HTTP',
        URI: `http://sandbox.localdomain:${server.address().port}/`,
      },
    })
  );
  for (;;) {
    const next = await call('GET', '/2020-01-01/extension/event/next', {
      'lambda-extension-identifier': id,
    });
    if (JSON.parse(next.body).eventType === 'SHUTDOWN') process.exit(0);
  }
})();
