# Ensemble's image (docker-compose.yml builds it). Copies sources only, never the host's
# node_modules, and installs from the lockfile. Models run on the CPU; see README "GPU hosts".
FROM node:20-bookworm
WORKDIR /app
# .npmrc points node-gyp at /usr; in this image Node's headers are under /usr/local.
ENV npm_config_nodedir=/usr/local
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc tsconfig.json ./
COPY server/package.json server/
COPY client/package.json client/
COPY shared/package.json shared/
RUN npx --yes pnpm@9.15.9 install --frozen-lockfile
COPY shared/src shared/src
COPY server/src server/src
COPY client/src client/src
COPY client/index.html client/vite.config.ts client/
COPY models models
RUN npx --yes pnpm@9.15.9 --filter @ensemble/client build
ENV HOST=0.0.0.0 PORT=8080 ENSEMBLE_DATA_DIR=/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--import", "tsx", "server/src/main.ts"]
