// Admin console: the instance (checklist, identity, sign-up, invites), users, moderation, the
// processing queue, models, experiments and the instance's playback quality, one section each.
import { h } from '../dom.js';
import { adminRequired } from '../guard.js';
import type { Page } from '../router.js';
import { experimentsSection } from './admin-experiments.js';
import { instanceSection } from './admin-instance.js';
import { jobsSection } from './admin-jobs.js';
import { moderationSection } from './admin-moderation.js';
import { modelsSection } from './admin-models.js';
import { usersSection } from './admin-users.js';
import { qoeView } from '../qoe-view.js';

export function adminPage(): Page {
  const guard = adminRequired('Admin');
  if (guard) return guard;
  const sections = [instanceSection(), usersSection(), moderationSection(), jobsSection(), modelsSection(), experimentsSection()];
  const quality = qoeView('/api/v1/qoe', 'Playback quality', '7d');
  quality.el.id = 'qoe-h';
  const tabs: Array<[string, string]> = [
    ['#instance-h', 'Instance'],
    ['#users-h', 'Users'],
    ['#mod-h', 'Moderation'],
    ['#jobs-h', 'Jobs'],
    ['#models-h', 'Models'],
    ['#exp-h', 'Experiments'],
    ['#qoe-h', 'Playback quality'],
  ];
  return {
    title: 'Admin',
    el: h(
      'div',
      { class: 'page admin' },
      h('h1', null, 'Admin'),
      h(
        'nav',
        { class: 'tabs', 'aria-label': 'Admin sections' },
        tabs.map(([href, text]) => h('a', { href, class: 'tab' }, text)),
      ),
      sections.map((s) => s.el),
      quality.el,
    ),
    dispose() {
      for (const s of sections) s.dispose();
      quality.dispose();
    },
  };
}
