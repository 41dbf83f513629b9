// Admin console: models, experiments and the instance's playback quality, one section each.
import { h } from '../dom.js';
import { adminRequired } from '../guard.js';
import type { Page } from '../router.js';
import { experimentsSection } from './admin-experiments.js';
import { modelsSection } from './admin-models.js';
import { qoeView } from '../qoe-view.js';

export function adminPage(): Page {
  const guard = adminRequired('Admin');
  if (guard) return guard;
  const models = modelsSection();
  const experiments = experimentsSection();
  const quality = qoeView('/api/v1/qoe', 'Playback quality', '7d');
  quality.el.id = 'qoe-h';
  return {
    title: 'Admin',
    el: h('div', { class: 'page admin' },
      h('h1', null, 'Admin'),
      h('nav', { class: 'tabs', 'aria-label': 'Admin sections' }, h('a', { href: '#models-h', class: 'tab' }, 'Models'), h('a', { href: '#exp-h', class: 'tab' }, 'Experiments'), h('a', { href: '#qoe-h', class: 'tab' }, 'Playback quality')),
      models.el,
      experiments.el,
      quality.el),
    dispose() {
      models.dispose();
      experiments.dispose();
      quality.dispose();
    },
  };
}
