// icons.mjs -- the apps' PNG icons, drawn at build time from the same
// shapes as public/icons/icon.svg (a white heart on a red rounded
// square), so no binary is kept in the tree and nothing is downloaded.
// A vite plugin: emits icons/icon-192.png, icon-512.png,
// icon-maskable-512.png and apple-touch-icon.png.
import { encodePng } from './png.mjs';

const RED = [183, 28, 28];   // #b71c1c, as in the SVG and theme-color
const WHITE = [255, 255, 255];

// Inside the heart (x, y in -1.5..1.5, y up): (x²+y²-1)³ - x²y³ <= 0.
function inHeart(x, y) {
    const a = x * x + y * y - 1;
    return a * a * a - x * x * y * y * y <= 0;
}

// Inside a rounded square of side 1 centred at 0 with corner radius r.
function inRounded(x, y, r) {
    const dx = Math.max(Math.abs(x) - (0.5 - r), 0);
    const dy = Math.max(Math.abs(y) - (0.5 - r), 0);
    return dx * dx + dy * dy <= r * r;
}

/** PNG of the icon at size px; maskable: full bleed, the heart inside
 * the safe zone (the middle 80%). */
export function drawIcon(size, { maskable = false } = {}) {
    const S = 4; // supersampling per axis
    const heartScale = maskable ? 0.3 : 0.36; // of the side, per unit
    return encodePng(size, size, (px, py) => {
        let bg = 0;
        let fg = 0;
        for (let sy = 0; sy < S; sy++) {
            for (let sx = 0; sx < S; sx++) {
                const u = (px + (sx + 0.5) / S) / size - 0.5; // -0.5..0.5
                const v = (py + (sy + 0.5) / S) / size - 0.5;
                const inBg = maskable || inRounded(u, v, 0.18);
                if (!inBg) continue;
                bg++;
                // Heart centred a little above the middle.
                if (inHeart(u / heartScale, -(v + 0.02) / heartScale)) fg++;
            }
        }
        const n = S * S;
        if (bg === 0) return [0, 0, 0, 0];
        const f = fg / bg;
        const c = RED.map((r, i) => Math.round(r + (WHITE[i] - r) * f));
        return [...c, Math.round((255 * bg) / n)];
    });
}

export function appIcons() {
    return {
        name: 'microwish-icons',
        apply: 'build',
        generateBundle() {
            const out = [
                ['icons/icon-192.png', drawIcon(192)],
                ['icons/icon-512.png', drawIcon(512)],
                ['icons/icon-maskable-512.png', drawIcon(512, { maskable: true })],
                ['icons/apple-touch-icon.png', drawIcon(180, { maskable: true })],
            ];
            for (const [fileName, source] of out)
                this.emitFile({ type: 'asset', fileName, source });
        },
    };
}
