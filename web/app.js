// The page's router: picks a view from location.pathname, mounts it into a fresh container,
// and turns clicks on same-origin `a[data-link]` into history.pushState navigations.
import { el, clear } from './dom.js';
import { getConfig } from './client.js';
import { mountForm } from './formview.js';
import { mountRun } from './runview.js';
import { mountHistory } from './historyview.js';
import { mountCompare } from './compareview.js';

const main = document.getElementById('app');
let config = null;
let cleanup = null; // Promise of the current view's cleanup function
let first = true;

function mountNotFound(root) {
  clear(root).append(el('section', {class: 'card'}, el('h1', {text: 'Not found'}),
    el('p', {}, 'Nothing lives at ', el('code', {text: location.pathname}), '. ',
      el('a', {href: '/', 'data-link': '', text: 'Start a run'}), ' or see the ', el('a', {href: '/history', 'data-link': '', text: 'history'}), '.')));
  root.dataset.ready = 'true';
  return () => {};
}

function route(pathname) {
  if (pathname === '/' || pathname === '/index.html') return {view: 'form', title: 'New run', mount: mountForm};
  const m = pathname.match(/^\/runs\/([A-Za-z0-9_-]+)\/?$/);
  if (m) return {view: 'run', title: 'Run ' + m[1], mount: mountRun, id: m[1]};
  if (pathname === '/history' || pathname === '/history/') return {view: 'history', title: 'History', mount: mountHistory};
  if (pathname === '/compare' || pathname === '/compare/') return {view: 'compare', title: 'Compare', mount: mountCompare};
  return {view: 'notfound', title: 'Not found', mount: mountNotFound};
}

// Goes to a path of the page (pushState) and shows its view.
export function navigate(path, state) {
  history.pushState(state || {}, '', path);
  render();
}

function render() {
  if (cleanup) {
    cleanup.then(fn => typeof fn === 'function' && fn()).catch(() => {});
    cleanup = null;
  }
  const r = route(location.pathname);
  const container = el('div', {class: 'view view-' + r.view, dataset: {view: r.view}});
  clear(main).append(container);
  document.body.dataset.view = r.view;
  document.title = `${r.title} · conlab`;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === r.view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  window.__conlab = {view: r.view};
  const ctx = {config, navigate, id: r.id, query: new URLSearchParams(location.search)};
  cleanup = Promise.resolve()
    .then(() => r.mount(container, ctx))
    .catch(err => {
      clear(container).append(el('section', {class: 'card'}, el('h1', {text: 'Something went wrong'}), el('p', {class: 'form-error', text: err.message})));
      container.dataset.ready = 'true';
      return null;
    });
  if (!first) main.focus({preventScroll: true});
  if (!first) window.scrollTo(0, 0);
  first = false;
}

document.addEventListener('click', e => {
  const a = e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  const url = new URL(a.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});
window.addEventListener('popstate', render);

async function start() {
  try {
    config = await getConfig();
    const v = document.getElementById('version');
    if (v && config.version) v.textContent = 'conlab ' + config.version;
  } catch (err) {
    const banner = el('p', {class: 'banner form-error', role: 'alert', text: 'Could not read the dashboard configuration: ' + err.message});
    document.body.insertBefore(banner, main);
  }
  render();
}

start();
