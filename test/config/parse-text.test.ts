import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_YAML, defaultConfig, parseConfigText, validateConfig } from '../../src/config';
import { configOf, errorsOf } from './helpers';

const EMPTY = { listeners: [], services: [], backends: [] };

describe('reading text', () => {
  it('empty file, comments only, {} and null are the empty config', () => {
    for (const text of ['', '# nothing yet\n', '{}', 'null', 'services:\n']) {
      expect(configOf(text)).toStrictEqual(EMPTY);
    }
  });

  it('JSON input works', () => {
    const json = JSON.stringify({
      listeners: [{ name: 'http', port: 10000 }],
      services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'v1' }] }] }],
      backends: [{ name: 'v1', endpoints: ['10.0.0.1:80'] }],
    });
    const config = configOf(json);
    expect(config.services[0]!.affinity!.keys).toEqual([{ kind: 'header', name: 'x-user', terminal: true }]);
    expect(config.backends[0]!.balancer.type).toBe('ring_hash');
  });

  it('a syntax error is reported with line:col and never thrown', () => {
    const text = 'services:\n  - name: shop\n    routes: [ { backends: [ }\n';
    const errors = errorsOf(text);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.message).toMatch(/^line 3:\d+: /);
  });

  it('the source name prefixes the location', () => {
    const result = parseConfigText('a: [1, 2\nb: 3\n', 'shop.yaml');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]!.message).toMatch(/^shop\.yaml:2:\d+: /);
  });

  it('duplicate keys are an error at the key, with its path', () => {
    const text = 'services:\n  - name: a\n    name: b\n';
    expect(errorsOf(text)).toEqual([{ path: 'services[0].name', message: 'line 3:5: Map keys must be unique' }]);
  });

  it('several documents in one file', () => {
    expect(errorsOf('listeners: []\n---\nservices: []\n')).toEqual([
      { path: '', message: "line 2:1: a config file holds one YAML document; remove the '---' separator" },
    ]);
  });

  it('a top level that is not a mapping', () => {
    for (const text of ['- a\n- b\n', 'just text']) {
      expect(errorsOf(text)).toEqual([{ path: '', message: 'the config must be an object with listeners, services and backends' }]);
    }
  });

  it('recursive aliases are reported, not recursed into', () => {
    expect(errorsOf('services: &s [*s]\n')).toEqual([{ path: 'services[0]', message: 'refers to itself (recursive alias)' }]);
  });

  it('anchors and merge keys share blocks', () => {
    const text = `
backends:
  - &base { name: a, endpoints: ["a:1"], connectTimeout: 5s }
  - { <<: *base, name: b }
`;
    expect(configOf(text).backends.map((b) => [b.name, b.connectTimeoutMs])).toEqual([
      ['a', 5000],
      ['b', 5000],
    ]);
  });

  it('empty values (YAML null) count as not set', () => {
    const text = 'listeners:\n  - name: http\n    port: 80\n    address:\n';
    expect(configOf(text).listeners[0]!.address).toBe('0.0.0.0');
  });
});

describe('validateConfig', () => {
  it('rejects a missing body instead of treating it as an empty config', () => {
    for (const raw of [null, undefined, 42, []]) {
      expect(validateConfig(raw)).toEqual({
        ok: false,
        errors: [{ path: '', message: 'the config must be an object with listeners, services and backends' }],
      });
    }
  });

  it('does not modify its input', () => {
    const raw = { listeners: [{ name: 'http', port: 1, address: null }] };
    const before = JSON.stringify(raw);
    configOf(raw);
    expect(JSON.stringify(raw)).toBe(before);
  });

  it('never throws on odd input', () => {
    const odd: unknown[] = [{ services: 'x' }, { services: [null, 1, 'a', []] }, { backends: [{ endpoints: [null, 7] }] }, { listeners: [{ name: {}, port: NaN }] }];
    for (const raw of odd) expect(validateConfig(raw).ok).toBe(false);
  });
});

describe('shipped configs', () => {
  it('the built-in default config is valid and matches its description', () => {
    expect(parseConfigText(DEFAULT_CONFIG_YAML).ok).toBe(true);
    const config = defaultConfig();
    expect(config.listeners).toMatchObject([{ name: 'http', address: '0.0.0.0', port: 10000 }]);
    const demo = config.services[0]!;
    expect(demo.name).toBe('demo');
    expect(demo.domains).toEqual(['*']);
    expect(demo.affinity!.keys).toEqual([
      { kind: 'header', name: 'x-user', terminal: true },
      { kind: 'cookie', name: 'tether-session', ttlMs: 3_600_000, path: '/', terminal: true },
    ]);
    expect(demo.routes[0]!.backends.map((b) => b.backend)).toEqual(['demo-v1']);
    // The sample replicas of the README's quick start: HTTP for Envoy, gRPC for proxyless clients.
    expect(config.backends[0]!.endpoints.map((e) => `${e.host}:${e.port} grpc ${e.grpcPort}`)).toEqual([
      '127.0.0.1:8081 grpc 9081',
      '127.0.0.1:8082 grpc 9082',
      '127.0.0.1:8083 grpc 9083',
    ]);
    expect(config.backends[0]!.balancer.type).toBe('ring_hash');
  });

  it('defaultConfig returns a fresh copy each time', () => {
    const a = defaultConfig();
    a.services.length = 0;
    expect(defaultConfig().services).toHaveLength(1);
  });

  const dir = path.join(__dirname, '../../examples');
  const files = fs.readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));

  it('the expected examples exist', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'header-affinity.yaml',
        'cookie-affinity.yaml',
        'client-ip-affinity.yaml',
        'header-prefix-canary.yaml',
        'weighted-canary.yaml',
        'sticky-canary.yaml',
        'strong-stickiness.yaml',
        'shadow-traffic.yaml',
        'bounded-load.yaml',
        'stable-ring.yaml',
        'session-key.yaml',
      ]),
    );
  });

  it.each(files)('examples/%s parses with zero errors', (file) => {
    const result = parseConfigText(fs.readFileSync(path.join(dir, file), 'utf8'), file);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it('examples do what their comments say', () => {
    const load = (f: string) => configOf(fs.readFileSync(path.join(dir, f), 'utf8'));
    expect(load('header-affinity.yaml').services[0]!.affinity!.keys).toEqual([{ kind: 'header', name: 'x-user', terminal: true }]);
    expect(load('header-affinity.yaml').backends[0]!.endpoints).toHaveLength(3);
    expect(load('cookie-affinity.yaml').services[0]!.affinity!.keys[0]).toMatchObject({ kind: 'cookie', ttlMs: 3_600_000, path: '/' });
    expect(load('client-ip-affinity.yaml').services[0]!.affinity!.keys).toEqual([{ kind: 'clientIp', terminal: true }]);
    const [https, lb] = load('edge-gateway.yaml').listeners;
    expect([https!.clientAddress, https!.tls?.certificateFile.endsWith('/tls/gateway.crt'), https!.accessLog]).toEqual([{ trustedHops: 0 }, true, { format: 'json' }]);
    expect([lb!.clientAddress, lb!.timeouts?.requestMs, lb!.accessLog]).toEqual([{ trustedHops: 1 }, 0, { format: 'text', path: '/dev/stdout' }]);

    const ab = load('header-prefix-canary.yaml').services[0]!;
    expect(ab.routes[0]!.match.headers).toEqual([{ name: 'userhash', invert: false, ignoreCase: false, prefix: '101' }]);
    expect(ab.routes.map((r) => r.backends.map((b) => [b.backend, b.hostRewrite, b.responseHeaders.set]))).toEqual([
      [['flowers-v2', 'flowers-predictor-default.ns-candidate', [{ name: 'version', value: 'flowers-v2' }]]],
      [['flowers-v1', 'flowers-predictor-default.ns-baseline', [{ name: 'version', value: 'flowers-v1' }]]],
    ]);

    const chat = load('session-key.yaml').services[0]!;
    expect(chat.affinity!.sessionKey).toMatchObject({ targetHeader: 'x-tether-session', bucketHeader: 'x-tether-bucket', mintCookie: { name: 'chat-sid' } });
    expect(chat.routes[0]!.match.headers).toEqual([{ name: 'x-tether-bucket', invert: false, ignoreCase: false, range: { start: 0, end: 1000 } }]);

    const split = load('weighted-canary.yaml').services[0]!.routes[0]!.backends;
    expect(split.map((b) => [b.backend, b.weight])).toEqual([
      ['shop-v1', 90],
      ['shop-v2', 10],
    ]);

    expect(load('header-affinity.yaml').backends[0]!.balancer).toMatchObject({ type: 'ring_hash', ring: 'stable' });
    expect(load('cookie-affinity.yaml').backends[0]!.balancer).toMatchObject({ type: 'ring_hash', ring: 'stable' });
    const canary = load('sticky-canary.yaml').services[0]!.routes[0]!;
    expect([canary.stickySplit, canary.backends.map((b) => [b.backend, b.weight])]).toEqual([
      { mode: 'ring' },
      [
        ['shop-v1', 99],
        ['shop-v2', 1],
      ],
    ]);
    expect(load('strong-stickiness.yaml').services[0]!.affinity!.strong).toEqual({
      session: { kind: 'cookie', name: 'shop-pin', ttlMs: 8 * 3_600_000, path: '/', sameSite: 'lax' },
      strict: false,
    });
    expect(load('shadow-traffic.yaml').services[0]!.routes[0]!.mirrors).toEqual([{ backend: 'shop-v2', percent: 10 }]);
    expect(load('bounded-load.yaml').backends[0]!.balancer).toMatchObject({ type: 'ring_hash', ring: 'stable', hashBalanceFactor: 150 });
    expect(load('stable-ring.yaml').backends[0]!.endpoints.map((e) => e.hashKey)).toEqual(['shop-0', 'shop-1', 'shop-2']);
  });
});
