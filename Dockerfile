# syntax=docker/dockerfile:1
# The production image: compiled once in a build stage, run by node alone on production dependencies.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# npm ci's prepare step (the web pages) has no src/web yet and skips; `npm run build` builds them.
COPY scripts/buildWeb.mjs ./scripts/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
COPY scripts/buildWeb.mjs ./scripts/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY drizzle ./drizzle
COPY --from=build /app/dist ./dist
# The embedded database (no DATABASE_URL) writes under ./data: the unprivileged user owns it.
RUN mkdir data && chown node:node data
USER node
EXPOSE 4000
# Ready = this node reaches its database and is not draining; node's fetch, as the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT ?? 4000}/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains (SHUTDOWN_GRACE_MS); give the container more than that before it is killed (compose: stop_grace_period).
CMD ["node", "dist/main.js"]
