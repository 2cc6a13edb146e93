// sw.mjs -- a vite plugin that writes sw.js, the service worker of the
// apps (src/sw-template.js with its placeholders filled): the list of
// files of the app shell (every file of the build but the service worker
// itself, plus the public files named here) and a version, a hash of
// that list and of index.html, so each build gets its own cache.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PUBLIC = ['manifest.webmanifest', 'icons/icon.svg', 'config.json'];

export function serviceWorker() {
    return {
        name: 'microwish-sw',
        apply: 'build',
        enforce: 'post',
        generateBundle(_opts, bundle) {
            const files = Object.keys(bundle).filter((f) =>
                f !== 'sw.js' && !f.endsWith('.map')).sort();
            const shell = ['./', ...files.filter((f) => f !== 'index.html'),
                'index.html', ...PUBLIC];
            const h = createHash('sha256');
            for (const f of files) {
                h.update(f);
                const item = bundle[f];
                h.update(item.type === 'chunk' ? item.code : item.source);
            }
            const version = h.digest('hex').slice(0, 12);
            const template = readFileSync(fileURLToPath(
                new URL('../src/sw-template.js', import.meta.url)), 'utf8');
            const source = template
                .replace('__VERSION__', version)
                .replace('[/*__SHELL__*/]', JSON.stringify(shell));
            this.emitFile({ type: 'asset', fileName: 'sw.js', source });
        },
    };
}
