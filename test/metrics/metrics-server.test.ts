import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_TYPE } from '../../src/envoy/resource-types';
import { silentLogger } from '../../src/log';
import { createTetherMetrics, startMetricsServer, type MetricsServer } from '../../src/metrics';
import { value } from './exposition';

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('metrics HTTP server', () => {
  it('serves GET /metrics as Prometheus text on an ephemeral port, 404 otherwise', async () => {
    const metrics = createTetherMetrics();
    server = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics, logger: silentLogger() });
    expect(server.port).toBeGreaterThan(0);
    metrics.listener.streamOpened({ streamId: 's1', nodeId: 'n', cluster: 'c', kind: 'envoy', userAgent: '', connectedAt: new Date() });
    metrics.listener.responseSent('s1', CLUSTER_TYPE, 'v', 'n1');

    const res = await get(server.port, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(value(res.body, 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(1);
    expect(value(res.body, 'tether_xds_pushes_total', { kind: 'envoy', type: 'cluster' })).toBe(1);
    expect(res.body).toMatch(/^process_resident_memory_bytes \d/m);
    // The scrape reflects the state at scrape time.
    metrics.listener.streamClosed('s1');
    expect(value((await get(server.port, '/metrics?x=1')).body, 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(0);

    expect((await get(server.port, '/')).status).toBe(404);
    expect((await get(server.port, '/metricsx')).status).toBe(404);
    expect((await get(server.port, '/metrics', 'POST')).status).toBe(404);
  });

  it('closes: the port stops accepting connections', async () => {
    const s = await startMetricsServer({ host: '127.0.0.1', port: 0, metrics: createTetherMetrics({ processMetrics: false }), logger: silentLogger() });
    expect((await get(s.port, '/metrics')).status).toBe(200);
    await s.close();
    await expect(get(s.port, '/metrics')).rejects.toThrow();
  });
});
