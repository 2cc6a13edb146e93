// resident.js -- the resident page (#/resident), loaded on demand by
// lazy.js: picks the view from the hash's query (home, view=new,
// view=menu[&item=M]) and notes every event about the resident's tasks
// (memory.js) while any of them is shown; the home repaints from it.
import './resident.css';
import { homeView } from './home.js';
import { menuView } from './menu.js';
import { memory, record } from './memory.js';
import { newWishView } from './wishForm.js';

export function residentPage(ctx, query = {}) {
    const m = memory(ctx);
    const make = query.view === 'new' ? newWishView
        : query.view === 'menu' ? menuView : homeView;
    const view = make(ctx, m, query);
    ctx.onLeave(ctx.client.on('event', (ev) => {
        const id = record(m, ev);
        if (id && view.onTask) view.onTask(id, ev); // not awaited: events flow on
    }));
    return view.el;
}
