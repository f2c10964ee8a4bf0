# syntax=docker/dockerfile:1
# Hookyard's image. It runs only what CI proves on every change (test/postgres/build.test.ts builds
# and serves the build; test/unit/deploy.test.ts keeps these lines in step with package.json):
# `npm ci`, `npm run build`, `npm run start:prod`.

# 1. Build: the full install (dev tools: tsc, esbuild, codegen), then dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund
RUN npm run build

# 2. Run: production dependencies and dist/ only; no sources, no tsx, no esbuild.
FROM node:20-bookworm-slim AS runtime
# MALLOC_ARENA_MAX=2: glibc's per-thread malloc arenas were 10–26 MiB of an idle instance's RSS;
# two arenas cost nothing measurable in sendEvent CPU (0.97x) and saved ~26 MiB under load
# (BENCHMARKS.md, issue 11 item 2). It must be in the environment before node starts.
ENV MALLOC_ARENA_MAX=2 \
    NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    HOOKYARD_DATA_DIR=/home/node/.hookyard
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the postinstall code generation is already compiled into dist/.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/dist ./dist
USER node
EXPOSE 4000
# /ready answers 200 only while the database is reachable.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# npm forwards SIGTERM to the server, which drains and exits 0.
CMD ["npm", "run", "start:prod"]
