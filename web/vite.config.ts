import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The console is served by `apiary serve` at /_apiary/ui/. Every page is its own chunk
 * (React.lazy in src/app/routes.ts); the shell (layout, navigation, login) is the main route.
 */
export default defineConfig({
  root,
  base: '/_apiary/ui/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    // No inline scripts anywhere: the server's CSP forbids them.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
