/**
 * One service, `app`, whose route `main` splits between backends v1 (100) and v2 (0): the config
 * tests seed a history with when what matters is an edit of it, not its content.
 */
export const APP_SPLIT_CONFIG = `
services:
  - name: app
    routes:
      - name: main
        backends: [{ name: v1, weight: 100 }, { name: v2, weight: 0 }]
backends:
  - { name: v1, endpoints: ["127.0.0.1:1001"] }
  - { name: v2, endpoints: ["127.0.0.1:1002"] }
`;

/**
 * One listener and one service, `shop`, whose route `main` sends `weight` % to v1 and the rest
 * to v2: the start-up tests write it as a config file and change the weight between starts.
 */
export const shopSplitConfig = (weight: number): string => `
listeners: [{ name: http, port: 10000 }]
services:
  - name: shop
    routes: [{ name: main, backends: [{ name: v1, weight: ${weight} }, { name: v2, weight: ${100 - weight} }] }]
backends:
  - { name: v1, endpoints: ["10.0.0.1:8080"] }
  - { name: v2, endpoints: ["10.0.0.2:8080"] }
`;
