// The page's theme: the system's (prefers-color-scheme) until the toggle picks light or dark,
// which is kept in this browser. Charts read their colours when drawn, so a change asks the view
// to redraw.
import { el } from './dom.js';

const THEME_KEY = 'conlab.theme';
const darkQuery = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;

function storedTheme() {
  try {
    return localStorage.getItem(THEME_KEY);
  } catch {
    return null;
  }
}

const isDark = () => (document.documentElement.dataset.theme || (darkQuery && darkQuery.matches ? 'dark' : 'light')) === 'dark';

// Applies the stored choice and returns the toggle button; redraw() is called after any change
// of the theme in effect (the toggle, or the system's while no choice is stored).
export function themeToggle(redraw) {
  const stored = storedTheme();
  if (stored === 'dark' || stored === 'light') document.documentElement.dataset.theme = stored;
  const button = el('button', {type: 'button', class: 'theme-toggle', id: 'theme-toggle'});
  const label = () => {
    button.textContent = isDark() ? 'Light' : 'Dark';
    button.setAttribute('aria-label', isDark() ? 'Switch to the light theme' : 'Switch to the dark theme');
    button.setAttribute('aria-pressed', String(isDark()));
  };
  button.addEventListener('click', () => {
    const next = isDark() ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem(THEME_KEY, next);
    } catch {
      /* kept for this page only */
    }
    label();
    redraw();
  });
  if (darkQuery) {
    darkQuery.addEventListener('change', () => {
      label();
      if (!document.documentElement.dataset.theme) redraw();
    });
  }
  label();
  return button;
}
