# One image for Tether, the sample replicas and the demo load client; docker-compose.yml picks
# the subcommand (`serve`, `sample`) or, for the load client, the script.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# `npm install`, not `npm ci`, for the reason given in .ci/run (it still follows the lock file).
RUN npm install --no-audit --no-fund
COPY . .
# Build (generates src/generated from the protos in node_modules), drop dev dependencies, put
# `tether` on the PATH (`docker compose exec tether tether status`), and give the unprivileged
# user a data directory for the config history.
RUN npm run build \
 && npm prune --omit=dev \
 && chmod +x dist/src/cli/main.js \
 && ln -s /app/dist/src/cli/main.js /usr/local/bin/tether \
 && mkdir -p /data \
 && chown node:node /data
ENV NODE_ENV=production \
    TETHER_DATA_DIR=/data
USER node
# xDS, admin API, ext_proc.
EXPOSE 18000 18001 18002
ENTRYPOINT ["tether"]
CMD ["serve", "--config", "/etc/tether/config.yaml"]
