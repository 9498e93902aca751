import { defineConfig } from 'vite';

/**
 * The pages, built by `npm run build:web` (and by `npm install`, and by `npm start` when missing)
 * into dist/web, which the service itself serves (src/http/webPages.ts): one origin and port.
 * One HTML entry per page; each page's path is its folder (`/setup` is setup/index.html).
 */
const here = (path: string) => new URL(path, import.meta.url).pathname;

export default defineConfig({
  root: here('.'),
  // Relative to nothing: assets are under /assets/ on the service's own origin.
  base: '/',
  publicDir: here('public'),
  build: {
    outDir: here('../../dist/web'),
    emptyOutDir: true,
    // Hashed file names under /assets/ are cached for a year; the HTML is revalidated.
    assetsDir: 'assets',
    // Every script is a file of its own: the Content-Security-Policy allows no inline script.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    rollupOptions: {
      input: {
        signIn: here('index.html'),
        setup: here('setup/index.html'),
        securityInfo: here('security-info/index.html'),
        authenticator: here('authenticator/index.html'),
      },
    },
  },
});
