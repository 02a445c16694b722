/** Config files the CLI tests share. */

/** One service routed to one backend with one endpoint. */
export const ONE_BACKEND_CONFIG = `
services:
  - name: shop
    routes:
      - backends: [{ name: shop-v1 }]
backends:
  - name: shop-v1
    endpoints: [127.0.0.1:8081]
`;

/** Wrong three ways: a negative weight, an unknown backend, a port out of range. */
export const INVALID_CONFIG = `
services:
  - name: shop
    routes:
      - backends: [{ name: shop-v1, weight: -1 }, { name: missing, weight: 1 }]
backends:
  - name: shop-v1
    endpoints: ["10.0.0.1:99999"]
`;
