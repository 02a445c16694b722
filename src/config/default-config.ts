/**
 * What `npm start` serves when no config file is given: a sticky demo in front of the three
 * sample replicas the README's quick start runs locally (HTTP on 8081-8083, gRPC on
 * 9081-9083). Kept as YAML text (not a model object) so it goes through the same parser and
 * validator as a user's file.
 */
export const DEFAULT_CONFIG_YAML = `# Tether built-in demo config.
# Envoy listens on :10000; requests with the same x-user header (or, without it, the same
# tether-session cookie that Envoy sets on first visit) stick to the same replica.
#   curl -H 'x-user: alice' localhost:10000/   # repeat: same replica every time
# Proxyless gRPC clients dial xds:///demo and stick on the x-user metadata key.
listeners:
  - name: http
    port: 10000

services:
  - name: demo                  # gRPC clients use the target xds:///demo
    domains: ["*"]
    affinity:
      keys:                     # tried in order; the first one present decides
        - header: x-user
        - cookie: { name: tether-session, ttl: 1h, path: / }
    routes:
      - backends:
          - name: demo-v1

backends:
  - name: demo-v1               # no balancer given: ring_hash, because demo is sticky
    endpoints:                  # each replica: HTTP for Envoy, grpcPort for gRPC clients
      - { address: 127.0.0.1:8081, grpcPort: 9081 }
      - { address: 127.0.0.1:8082, grpcPort: 9082 }
      - { address: 127.0.0.1:8083, grpcPort: 9083 }
`;
