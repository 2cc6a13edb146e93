// The apps' entry: base styles, the shell, and the service worker that
// keeps the app shell for offline starts and installs (built only).
import './styles/base.css';
import { start } from './app.js';

start(document.getElementById('app'));

if (import.meta.env.PROD && 'serviceWorker' in navigator) {
    window.addEventListener('load', () => {
        navigator.serviceWorker.register('./sw.js').catch(() => {});
    });
}
