// Entry point of the web app: the header, the routes, and the page outlet.
import './styles.css';
import { h, replace } from './dom.js';
import { fallback, lazy, navigate, onNavigate, refresh, route, startRouter } from './router.js';
import { session } from './session.js';
import { post } from './api.js';
import { authPage } from './pages/auth.js';
import { discoverPage } from './pages/discover.js';
import { watchPage } from './pages/watch.js';
import { myVideosPage } from './pages/my-videos.js';
import { goLivePage } from './pages/go-live.js';
import { liveWatchPage } from './pages/live-watch.js';
import { notFoundPage } from './pages/not-found.js';
import { channelPage } from './pages/channel.js';
import { searchPage } from './pages/search.js';
import { searchBox } from './search-box.js';
import { onInstanceInfo } from './instance.js';
import { uploadIndicator } from './upload-status.js';

route('/', discoverPage);
route('/signin', (ctx) => authPage(ctx, 'signin'));
route('/signup', (ctx) => authPage(ctx, 'signup'));
route(
  '/upload',
  lazy(() => import('./pages/upload.js').then((m) => m.uploadPage)),
);
route('/watch/:id', watchPage);
route(
  '/watch/:id/quality',
  lazy(() => import('./pages/video-quality.js').then((m) => m.videoQualityPage)),
);
route('/me/videos', myVideosPage);
route('/go-live', goLivePage);
route('/go-live/:id', goLivePage);
route('/live/:id', liveWatchPage);
route('/u/:username', channelPage);
route('/search', searchPage);
route(
  '/admin',
  lazy(() => import('./pages/admin.js').then((m) => m.adminPage)),
);
fallback(notFoundPage);

const nav = h('nav', { class: 'nav', 'aria-label': 'Main' });
const account = h('div', { class: 'account' });

function link(href: string, text: string): HTMLAnchorElement {
  return h('a', { href }, text);
}

function renderHeader(): void {
  const user = session.user;
  replace(nav, link('/', 'Discover'), link('/upload', 'Upload'), user ? link('/me/videos', 'My videos') : null, link('/go-live', 'Go live'), session.isAdmin ? link('/admin', 'Admin') : null);
  if (user) {
    const signOut = h('button', { type: 'button', class: 'link' }, 'Sign out');
    signOut.addEventListener('click', async () => {
      // Revoke the token on the server too; the local sign-out happens even if that fails.
      await post('/api/v1/auth/logout').catch(() => {});
      session.clear();
      navigate('/');
    });
    replace(account, h('span', { class: 'who' }, user.username), signOut);
  } else {
    replace(account, link('/signin', 'Sign in'), h('a', { href: '/signup', class: 'button small' }, 'Sign up'));
  }
  markCurrent();
}

function markCurrent(): void {
  for (const a of nav.querySelectorAll('a')) {
    const path = new URL(a.href).pathname;
    const here = path === '/' ? location.pathname === '/' : location.pathname.startsWith(path);
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

const main = h('main', { id: 'main', tabindex: -1 });
const brandName = h('span', null, ' Nova');
const brand = h('a', { href: '/', class: 'brand', 'aria-label': 'Nova home' }, h('span', { 'aria-hidden': 'true' }, '◆'), brandName);
// The instance's own name, once an admin has set it.
onInstanceInfo((i) => {
  brandName.textContent = ` ${i.name}`;
  brand.setAttribute('aria-label', `${i.name} home`);
});
const app = document.getElementById('app')!;
replace(app, h('a', { href: '#main', class: 'skip' }, 'Skip to content'), h('header', { class: 'top' }, brand, nav, searchBox(), uploadIndicator(), account), main);

let lastUser = session.user?.id ?? null;
session.onChange(() => {
  renderHeader();
  // Pages show different things to signed-in users: re-render when the user changes.
  const now = session.user?.id ?? null;
  if (now !== lastUser) {
    lastUser = now;
    refresh();
  }
});
onNavigate(markCurrent);
renderHeader();
startRouter(main);
