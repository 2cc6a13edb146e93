// gzip.mjs -- a vite plugin that writes a gzip twin (NAME.gz, level 9)
// beside each text file of the build worth compressing, once the build
// is written. wishd sends the twin to browsers that take gzip
// (server/static_files.c), so compression costs nothing per request and
// a phone loads the volunteer page in about a quarter of the bytes.
// config.json is left alone: operators edit it in place after a build
// (wishd would not serve a twin older than its file anyway).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const TEXT = /\.(js|mjs|css|html|svg|webmanifest)$/;
const MIN_BYTES = 1024; // below this a twin saves less than its headers

// Every file under dir (recursively), as paths.
function filesUnder(dir) {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]);
}

export function gzipTwins() {
    let outDir = '';
    return {
        name: 'microwish-gzip',
        apply: 'build',
        configResolved(config) {
            outDir = config.build.outDir;
        },
        closeBundle() {
            for (const path of filesUnder(outDir)) {
                if (!TEXT.test(path) || statSync(path).size < MIN_BYTES) continue;
                const body = readFileSync(path);
                const gz = gzipSync(body, { level: 9 });
                if (gz.length < body.length) writeFileSync(`${path}.gz`, gz);
            }
        },
    };
}
