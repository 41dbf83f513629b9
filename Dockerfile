# Nova: one image for API nodes (`serve --no-worker`) and workers (`worker`); the `nova` CLI is the
# entrypoint and tini forwards SIGTERM to it for a graceful stop. ffmpeg/ffprobe come from Debian.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds its native module here; the runtime stage has the same base, so it loads there.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
# tsc into dist/ and the web app into dist/web/app, then drop the dev dependencies.
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/data MODELS_DIR=/app/models
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/models ./models
COPY package.json ./
# /data: per-container work folders; /uploads: the upload folder API nodes share (a volume).
RUN mkdir -p /data /uploads && chown node:node /data /uploads
USER node
EXPOSE 8080 1935
ENTRYPOINT ["tini", "--", "node", "dist/cli.js"]
CMD ["serve"]
