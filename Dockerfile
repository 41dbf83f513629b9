# Nova: one image for API nodes (`serve --no-worker`) and workers (`worker`); the `nova` CLI is the
# entrypoint (serve, worker, migrate, train, health) and tini forwards SIGTERM to it for a graceful
# stop. Node 24 LTS; ffmpeg/ffprobe come from Debian, never the old builds in the npm packages.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds its native module here; the runtime stage has the same base, so it loads there.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
# onnxruntime-node's install script would fetch CUDA libraries; Nova runs its models on the CPU.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
# tsc into dist/ and the web app into dist/web/app, then drop the dev dependencies, the bundled
# ffmpeg/ffprobe packages and ONNX Runtime's binaries for other systems.
RUN npm run build && npm prune --omit=dev \
  && rm -rf node_modules/@ffmpeg-installer node_modules/@ffprobe-installer \
  && arch=$(node -p process.arch) \
  && find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 3 -type d \( -path '*/darwin' -o -path '*/win32' -o -path "*/linux/*" ! -path "*/linux/$arch" \) -prune -exec rm -rf {} +

FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/data MODELS_DIR=/app/models
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/models ./models
COPY package.json ./
# `nova` on PATH, so `docker compose exec api1 nova migrate` works as documented.
RUN ln -s /app/dist/cli.js /usr/local/bin/nova && chmod +x /app/dist/cli.js \
  && mkdir -p /data /uploads && chown node:node /data /uploads
USER node
EXPOSE 8080 1935
# API nodes answer /readyz; workers override this in compose with `nova health --worker`.
HEALTHCHECK --interval=15s --timeout=6s --start-period=30s --retries=3 CMD ["node", "dist/cli.js", "health"]
ENTRYPOINT ["tini", "--", "node", "dist/cli.js"]
CMD ["serve"]
