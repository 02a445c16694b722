/**
 * What `npm start` serves when no config file is given: a sticky demo in front of the three
 * sample replicas started locally on ports 8081-8083. Kept as YAML text (not a model object)
 * so it goes through the same parser and validator as a user's file.
 */
export const DEFAULT_CONFIG_YAML = `# Tether built-in demo config.
# Envoy listens on :10000; requests with the same x-user header (or, without it, the same
# tether-session cookie that Envoy sets on first visit) stick to the same replica.
#   curl -H 'x-user: alice' localhost:10000/   # repeat: same replica every time
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
    endpoints:
      - 127.0.0.1:8081
      - 127.0.0.1:8082
      - 127.0.0.1:8083
`;
