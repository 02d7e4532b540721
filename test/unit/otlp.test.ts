import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setupTelemetry, traced } from '../../platform/telemetry';

test('spans are exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
  const received: { url?: string; bytes: number }[] = [];
  const collector = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      received.push({ url: req.url, bytes });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  try {
    const telemetry = setupTelemetry({ serviceName: 'comptoir-otlp-test', otlpEndpoint: `http://127.0.0.1:${port}` });
    await traced('db.probe', { 'comptoir.test': true }, async () => 42);
    await telemetry.shutdown(); // flushes the batch processor
    assert.equal(received.length, 1);
    assert.equal(received[0]!.url, '/v1/traces');
    assert.ok(received[0]!.bytes > 0);
  } finally {
    collector.close();
  }
});
