# syntax=docker/dockerfile:1
# The stagewise API. Build from the repository root:
#   docker build -f docker/api.Dockerfile -t stagewise-api .
# It serves on port 4000, migrates the database named by DATABASE_URL at start, and answers
# GET /healthz (liveness) and /readyz (database reachable, migrations applied).

# --- build: all dependencies, then tsc -------------------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /src
# onnxruntime-node's install script downloads CUDA libraries; the CPU binary is in the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY docker/tsconfig.build.json ./docker/
COPY src ./src
COPY migrations ./migrations
# The server and its migrations only (not tests, benchmarks or scripts): dist/src, dist/migrations.
RUN npx tsc -p docker/tsconfig.build.json

# --- runtime: production dependencies, the compiled code, nothing else ------------------------
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=skip \
    HOST=0.0.0.0 \
    PORT=4000
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/migrations ./dist/migrations
# The API validates stage configs against the runner's schema (src/modules/runs/stage-configs.ts
# reads <root>/gpu-runner/config.schema.json) and serves the dashboard from <root>/src/dashboard.
COPY gpu-runner/config.schema.json ./gpu-runner/config.schema.json
COPY src/dashboard ./src/dashboard
USER node
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# With the flags of src/app/server-node-flags.ts (tests/containers checks they match).
CMD ["node", "--max-semi-space-size=64", "dist/src/main.js"]
