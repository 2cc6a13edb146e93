// vite.config.js -- builds the apps into build/web at the top of the tree
// (what wishd serves when web-root is unset; make install copies it to
// $(PREFIX)/share/microwish/web). `npm run dev` serves them with /ws
// proxied to a wishd on 127.0.0.1:7480 (make run).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { gzipTwins } from './tools/gzip.mjs';
import { appIcons } from './tools/icons.mjs';
import { serviceWorker } from './tools/sw.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
    root: here,
    base: './',
    publicDir: 'public',
    build: {
        outDir: fileURLToPath(new URL('../../build/web', import.meta.url)),
        emptyOutDir: true,
        target: 'es2020',
        assetsDir: 'assets',
        sourcemap: false,
        reportCompressedSize: false,
        modulePreload: { polyfill: false },
    },
    plugins: [appIcons(), serviceWorker(), gzipTwins()],
    server: {
        proxy: { '/ws': { target: 'ws://127.0.0.1:7480', ws: true } },
    },
});
