// A creator's view of how their video plays for viewers: startup, stalls, renditions, errors.
import { h } from '../dom.js';
import { signInRequired } from '../guard.js';
import { qoeView } from '../qoe-view.js';
import type { Page, PageContext } from '../router.js';

export function videoQualityPage(ctx: PageContext): Page {
  const guard = signInRequired('Playback quality', "Sign in as the video's owner to see how it plays for viewers.");
  if (guard) return guard;
  const id = ctx.params.id;
  const view = qoeView(`/api/v1/videos/${encodeURIComponent(id)}/qoe`, 'Playback quality', ctx.query.get('window') ?? '24h');
  return {
    title: 'Playback quality',
    el: h('div', { class: 'page video-quality' }, h('p', null, h('a', { href: `/watch/${encodeURIComponent(id)}` }, '← Back to the video')), view.el),
    dispose: view.dispose,
  };
}
