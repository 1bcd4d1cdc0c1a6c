// Building DOM nodes. Text always goes in through textContent: data never reaches innerHTML.

// el('p', {class: 'x', onclick: fn, dataset: {a: 1}}, 'text', child, [more]) → element.
// Attributes: `class`, `text`, `dataset`, `on*` handlers, booleans (true sets, false omits);
// children: strings become text nodes, null/undefined/false are skipped, arrays are flattened.
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = String(value);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, '');
    else if (key === 'value' && 'value' in node) node.value = String(value);
    else node.setAttribute(key, String(value));
  }
  appendAll(node, children);
  return node;
}

function appendAll(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) appendAll(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

// Removes every child of node and returns it.
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// A canvas inside a sized box, as Chart.js wants for responsive charts.
export function chartBox(height, attrs) {
  const canvas = el('canvas', attrs || {});
  const box = el('div', {class: 'chart-box', style: `height:${Math.round(height)}px`}, canvas);
  return {box, canvas};
}

// Whether the device has a mouse that hovers: the page says "hover" and "click" then, "tap"
// otherwise.
export function hasHover() {
  return !(window.matchMedia && window.matchMedia('(hover: none), (pointer: coarse)').matches);
}

// What the page drew, for tests and for the curious: window.__conlab (reset per view by app.js).
export function exposed() {
  window.__conlab = window.__conlab || {};
  return window.__conlab;
}

// The page's ink and grid colours for what is drawn on a canvas, from the CSS variables of the
// light or the dark theme.
export function themeColors() {
  const css = getComputedStyle(document.documentElement);
  const v = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return {ink: v('--chart-ink', '#334155'), grid: v('--chart-grid', '#e2e8f0'), strong: v('--ink', '#0f172a')};
}
