// Admin console: models and experiments, one section each.
import { h } from '../dom.js';
import { adminRequired } from '../guard.js';
import type { Page } from '../router.js';
import { experimentsSection } from './admin-experiments.js';
import { modelsSection } from './admin-models.js';

export function adminPage(): Page {
  const guard = adminRequired('Admin');
  if (guard) return guard;
  const models = modelsSection();
  const experiments = experimentsSection();
  return {
    title: 'Admin',
    el: h('div', { class: 'page admin' },
      h('h1', null, 'Admin'),
      h('nav', { class: 'tabs', 'aria-label': 'Admin sections' }, h('a', { href: '#models-h', class: 'tab' }, 'Models'), h('a', { href: '#exp-h', class: 'tab' }, 'Experiments')),
      models.el,
      experiments.el),
    dispose() {
      models.dispose();
      experiments.dispose();
    },
  };
}
