# flash-sale-operator image: `docker build -t ghcr.io/flash-sale-operator/flash-sale-operator:0.1.0 .`
# Multi-stage: build with dev dependencies, ship dist/ with production dependencies only.
# Runs as a non-root user on a read-only root filesystem (the Deployment sets readOnlyRootFilesystem: true);
# Node itself handles SIGTERM (the operator releases its lease and drains in-flight reconciles), and
# `--init`-style reaping is not needed because the operator spawns no child processes.

FROM node:24.11.1-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `prepare` build runs below, once the sources are in place.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY crds ./crds
RUN npx tsc -p tsconfig.build.json

FROM node:24.11.1-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24.11.1-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/crds ./crds
COPY package.json ./
# The image's built-in unprivileged user (uid 1000).
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["run"]
