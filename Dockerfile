# Production image for the worker and the API (one image, two commands; see docker-compose.yml).
# Stage 1 compiles TypeScript and prebuilds the workflow bundle; stage 2 installs production dependencies only;
# the runtime stage copies both and runs as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    MODEL_DIR=/app/models \
    DEPLOYMENT_DIR=/app/deployments \
    WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
WORKDIR /app
COPY --from=prod-deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
# The model repository and the deployment files: every model folder, every deployments/<name>.json.
COPY --chown=node:node models ./models
COPY --chown=node:node deployments ./deployments
# The dashboard's pages and TypeScript (the API bundles ui/src/main.ts with esbuild on first request to /ui).
COPY --chown=node:node ui/src ./ui/src
USER node
EXPOSE 3000
CMD ["npm", "run", "start:api"]
