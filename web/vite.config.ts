import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

// The dashboard's build (`npm run build:web` at the root → web/dist, served by the api at /) and its
// dev server (`npm run dev:web`: hot reload on http://localhost:5173, /v1 proxied to a running api,
// SLUICE_URL or http://localhost:8080, so the session cookie stays first-party).
// The built index.html loads one module script and one stylesheet from /assets: nothing inline,
// as the api's Content-Security-Policy requires (script-src 'self'; style-src 'self').

const api = process.env.SLUICE_URL ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [vue()],
  resolve: {
    // The typed client's browser-safe modules (wire types, error classes): one source of truth for both.
    alias: { '@client': fileURLToPath(new URL('../src/client', import.meta.url)) },
  },
  server: {
    port: 5173,
    proxy: { '/v1': { target: api }, '/openapi.json': { target: api } },
    fs: { allow: ['..'] },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Every browser that runs the dashboard supports modulepreload; no polyfill code in the entry.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
