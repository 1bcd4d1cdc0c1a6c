// The page's router: picks a view from location.pathname, mounts it into a fresh container,
// and turns clicks on same-origin `a[data-link]` into history.pushState navigations.
import { el, clear } from './dom.js';
import { getConfig, setToken, ApiError } from './client.js';
import { mountForm } from './formview.js';
import { mountRun } from './runview.js';
import { mountHistory } from './historyview.js';
import { mountCompare } from './compareview.js';
import { themeToggle } from './theme.js';

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

// Shows the view of location.pathname. redraw: the same view again (a theme change), keeping the
// focus and the scroll position.
function render(redraw) {
  const y = window.scrollY;
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
  if (redraw === true) {
    cleanup.then(() => window.scrollTo(0, y));
  } else {
    if (!first) main.focus({preventScroll: true});
    if (!first) window.scrollTo(0, 0);
  }
  first = false;
}

document.querySelector('.topbar nav').append(themeToggle(() => render(true)));

document.addEventListener('click', e => {
  const a = e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  const url = new URL(a.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
});
window.addEventListener('popstate', () => render());

// A dashboard started with --token answers nothing without it: asks for it, then starts.
function askToken(message) {
  return new Promise(resolve => {
    const input = el('input', {type: 'password', id: 'gate-token', name: 'token', autocomplete: 'off', required: true, 'aria-describedby': 'gate-error'});
    const form = el('form', {class: 'card', id: 'token-gate', 'aria-labelledby': 'gate-title'},
      el('h1', {id: 'gate-title', text: 'This dashboard needs its token'}),
      el('p', {class: 'muted', text: 'It was started with --token. Enter that token: it is kept in this browser and sent with every request.'}),
      el('label', {for: 'gate-token', text: 'Token'}), input,
      el('p', {class: 'form-error', id: 'gate-error', role: 'alert', hidden: !message, text: message || ''}),
      el('button', {type: 'submit', class: 'primary', id: 'gate-button', text: 'Open the dashboard'}));
    form.addEventListener('submit', e => {
      e.preventDefault();
      setToken(input.value.trim());
      resolve();
    });
    clear(main).append(form);
    input.focus();
  });
}

async function start() {
  for (let message = null; ;) {
    try {
      config = await getConfig();
      break;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) throw err;
      await askToken(message);
      message = 'That token was refused: ' + err.message;
    }
  }
}

async function boot() {
  try {
    await start();
    const v = document.getElementById('version');
    if (v && config.version) v.textContent = 'conlab ' + config.version;
  } catch (err) {
    const banner = el('p', {class: 'banner form-error', role: 'alert', text: 'Could not read the dashboard configuration: ' + err.message});
    document.body.insertBefore(banner, main);
  }
  render();
}

boot();
