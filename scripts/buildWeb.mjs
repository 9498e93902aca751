// Builds the web pages (src/web) into dist/web with Vite. Plain Node, so it runs before tsx and
// from npm's lifecycle scripts:
//   node scripts/buildWeb.mjs              build (`npm install`'s prepare step, `npm run build:web`)
//   node scripts/buildWeb.mjs --if-missing build only when dist/web has no index.html (`npm start`)
// An install without dev dependencies (the production image, which copies dist/web from its build
// stage) or without src/web (the image's dependency layer) has nothing to build with: it says so
// and succeeds.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const config = `${root}src/web/vite.config.ts`;
const built = `${root}dist/web/index.html`;

if (process.argv.includes('--if-missing') && existsSync(built)) process.exit(0);
if (!existsSync(config)) {
  console.log('buildWeb: no src/web here; the web pages are not built.');
  process.exit(0);
}
let vite;
try {
  vite = await import('vite');
} catch {
  console.log('buildWeb: vite is not installed (production install); the web pages are not built.');
  process.exit(0);
}
await vite.build({ configFile: config, logLevel: 'warn' });
console.log('buildWeb: the web pages are in dist/web.');
