// The instance's name and short description (admin settings), fetched once per page load: the
// home page shows them, and the header's brand carries the name.
import { h } from './dom.js';
import { get } from './api.js';
import type { PublicInstanceJson } from '../../src/instance/instance.schemas.js';

export type InstanceInfo = PublicInstanceJson;

let pending: Promise<InstanceInfo | null> | null = null;

export function instanceInfo(fresh = false): Promise<InstanceInfo | null> {
  if (!pending || fresh) pending = get<InstanceInfo>('/api/v1/instance').catch(() => null);
  return pending;
}

const listeners = new Set<(i: InstanceInfo) => void>();

/** Calls `fn` with the settings now and whenever an admin saves new ones in this tab. */
export function onInstanceInfo(fn: (i: InstanceInfo) => void): void {
  listeners.add(fn);
  void instanceInfo().then((i) => i && fn(i));
}

/** The admin page saved settings: everything showing them updates. */
export function instanceChanged(i: InstanceInfo): void {
  pending = Promise.resolve(i);
  for (const fn of listeners) fn(i);
}

/** The home page's intro: the instance's name and description once known (empty until then). */
export function instanceIntro(): HTMLElement {
  const el = h('div', { class: 'instance-intro', 'aria-label': 'About this instance', role: 'region', hidden: true });
  void instanceInfo(true).then((i) => {
    if (!i) return;
    el.append(h('p', { class: 'instance-name' }, i.name));
    if (i.description) el.append(h('p', { class: 'instance-description' }, i.description));
    el.hidden = false;
  });
  return el;
}
