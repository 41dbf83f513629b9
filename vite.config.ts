// Builds the web app (web/) into dist/web/app, which `nova serve` serves at `/` (src/web/web.routes.ts).
// dist/web itself holds the compiled server capability, so the bundle gets its own sub-folder.
// `npx vite` serves the app with hot reload and proxies the API to a Nova on :8080.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: path.join(here, 'web'),
  base: '/',
  publicDir: false,
  build: {
    outDir: path.join(here, 'dist/web/app'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // hls.js is loaded only by the pages that play video, in its own chunk.
    chunkSizeWarningLimit: 600,
    // Two pages: the app (index.html) and the embeddable player (embed.html, served at /embed/{id}).
    rolldownOptions: { input: { app: path.join(here, 'web/index.html'), embed: path.join(here, 'web/embed.html') } },
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
});
