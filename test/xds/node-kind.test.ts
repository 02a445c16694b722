import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyNode, nodeTarget } from '../../src/xds/node-kind';

const kindMeta = (value: string) => ({ fields: { TETHER_NODE_KIND: { stringValue: value } } });

describe('classifyNode', () => {
  it('reads the user agent: envoy → envoy, gRPC* → grpc, anything else → envoy', () => {
    expect(classifyNode({ user_agent_name: 'envoy' })).toBe('envoy');
    expect(classifyNode({ user_agent_name: 'gRPC Node Pure JS' })).toBe('grpc');
    expect(classifyNode({ user_agent_name: 'gRPC Go' })).toBe('grpc');
    expect(classifyNode({ user_agent_name: 'grpc-java-sans-capitals' })).toBe('envoy');
    expect(classifyNode({ user_agent_name: '' })).toBe('envoy');
    expect(classifyNode({})).toBe('envoy');
  });

  it('lets TETHER_NODE_KIND metadata win, ignoring values that are not a kind', () => {
    expect(classifyNode({ user_agent_name: 'envoy', metadata: kindMeta('grpc') })).toBe('grpc');
    expect(classifyNode({ user_agent_name: 'gRPC Node Pure JS', metadata: kindMeta('envoy') })).toBe('envoy');
    expect(classifyNode({ user_agent_name: 'gRPC Node Pure JS', metadata: kindMeta('mesh') })).toBe('grpc');
    expect(classifyNode({ metadata: { fields: { TETHER_NODE_KIND: { string_value: 'grpc' } } } })).toBe('grpc');
    expect(classifyNode({ metadata: { fields: { TETHER_NODE_KIND: { numberValue: 1 } } } })).toBe('envoy');
  });

  it('matches the user agent the installed grpc-js-xds actually sends', () => {
    const file = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'build/src/xds-client.js');
    const agent = /const userAgentName = '([^']+)'/.exec(fs.readFileSync(file, 'utf8'))?.[1];
    expect(agent).toBeDefined();
    expect(classifyNode({ user_agent_name: agent })).toBe('grpc');
  });
});

describe('nodeTarget: the snapshot an Envoy gets follows its build version', () => {
  const envoy = (major: number, minor: number, api?: string) => ({
    user_agent_name: 'envoy',
    user_agent_build_version: { version: { major_number: major, minor_number: minor } },
    ...(api !== undefined ? { metadata: { fields: { TETHER_ENVOY_API: { stringValue: api } } } } : {}),
  });

  it('≥ 1.36 current, 1.35, older; gRPC always grpc', () => {
    expect(nodeTarget(envoy(1, 40))).toBe('envoy');
    expect(nodeTarget(envoy(1, 36))).toBe('envoy');
    expect(nodeTarget(envoy(2, 0))).toBe('envoy');
    expect(nodeTarget(envoy(1, 35))).toBe('envoy-1.35');
    expect(nodeTarget(envoy(1, 34))).toBe('envoy-pre-1.35');
    expect(nodeTarget(envoy(1, 18))).toBe('envoy-pre-1.35');
    expect(nodeTarget({ user_agent_name: 'gRPC Node Pure JS', user_agent_build_version: { version: { major_number: 1, minor_number: 10 } } })).toBe('grpc');
  });

  it('no reported version (not a real Envoy): the current API, unless TETHER_ENVOY_API says', () => {
    expect(nodeTarget({ user_agent_name: 'envoy' })).toBe('envoy');
    expect(nodeTarget({ user_agent_name: 'envoy', user_agent_build_version: { version: { major_number: 0, minor_number: 0 } } })).toBe('envoy');
    expect(nodeTarget({ user_agent_name: 'envoy', metadata: { fields: { TETHER_ENVOY_API: { stringValue: '1.35' } } } })).toBe('envoy-1.35');
  });

  it('TETHER_ENVOY_API only lowers the level; malformed values are ignored', () => {
    expect(nodeTarget(envoy(1, 40, '1.34'))).toBe('envoy-pre-1.35');
    expect(nodeTarget(envoy(1, 40, '1.35.2'))).toBe('envoy-1.35');
    expect(nodeTarget(envoy(1, 34, '1.40'))).toBe('envoy-pre-1.35');
    expect(nodeTarget(envoy(1, 40, 'latest'))).toBe('envoy');
  });
});
