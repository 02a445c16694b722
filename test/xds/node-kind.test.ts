import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyNode } from '../../src/xds/node-kind';

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
