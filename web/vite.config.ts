// Vite builds the console into dist/, which vigild serves (vigild --web web/dist).
// JSX goes through esbuild with Preact's automatic runtime: no Babel, no plugin.
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // vigild serves dist/assets/* as immutable (content-hashed names).
    assetsDir: 'assets',
    // No inline <script>: the server's CSP is script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    // `npx vite` during development: API calls go to a vigild on :8080.
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
