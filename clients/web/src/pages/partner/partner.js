// partner.js -- the page of a caring enterprise (爱心伙伴, role partner;
// #/partner), a chunk of its own: its home (home.js: the report of all
// its projects, its projects, those open for adoption in its scope) or,
// with ?project=P1, one project (project.js: what it is, its tasks,
// adopting it with a pledge, its report). For an enterprise's staff at a
// desk or on a phone. docs/apps.md, "The partner's page";
// docs/protocol.md, "Projects and caring partners".
import { h } from '../../ui/dom.js';
import { homeView } from './home.js';
import { projectView } from './project.js';
import './partner.css';

export function partnerView(ctx, query) {
    const id = String(query.project || '');
    return h('div', { class: 'partner' }, id ? projectView(ctx, id) : homeView(ctx));
}
