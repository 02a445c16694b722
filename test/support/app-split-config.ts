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
