// savefile.js -- hands bytes to the browser as a file to download (a
// service certificate's PDF): a link to a Blob, clicked once, its URL
// let go a minute later (the download has its bytes by then).
import { h } from '../ui/dom.js';

/** Saves bytes (a Uint8Array) as the file `name` of MIME type `type`. */
export function saveFile(bytes, name, type) {
    const url = URL.createObjectURL(new Blob([bytes], { type }));
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
}
