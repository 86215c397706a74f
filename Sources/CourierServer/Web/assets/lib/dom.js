// A tiny DOM builder. It never parses HTML: strings always become text nodes, so content from the
// server (messages, names, bios) can never turn into markup (no XSS), and nothing here sets inline
// styles, which the server's Content-Security-Policy forbids.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Creates an element. `props`: `class` (string or array), `dataset`, `on` ({event: handler}),
 * `text`, DOM properties that must not be attributes (`value`, `checked`, `disabled`, `hidden`),
 * and any other key as an attribute (`true` → empty attribute). Children: nodes, strings, arrays.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  applyProps(el, props);
  append(el, children);
  return el;
}

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'multiple', 'required', 'readOnly', 'autofocus']);

function applyProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    } else if (key === 'dataset') {
      for (const [name, data] of Object.entries(value)) if (data != null) el.dataset[name] = String(data);
    } else if (key === 'on') {
      for (const [event, handler] of Object.entries(value)) el.addEventListener(event, handler);
    } else if (key === 'text') {
      el.textContent = value;
    } else if (PROPERTIES.has(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
}

/** Appends children (nodes, strings, numbers, nested arrays; null and false are skipped). */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces all children of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** An SVG icon from path data (24×24 viewBox, stroked with the current text colour). */
export function svg(pathData, { label, className = 'icon' } = {}) {
  const root = document.createElementNS(SVG_NS, 'svg');
  root.setAttribute('viewBox', '0 0 24 24');
  root.setAttribute('class', className);
  if (label) {
    root.setAttribute('role', 'img');
    root.setAttribute('aria-label', label);
  } else {
    root.setAttribute('aria-hidden', 'true');
  }
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', pathData);
  root.append(path);
  return root;
}

/** Calls `fn` at most once per animation frame, with the latest arguments. */
export function perFrame(fn) {
  let scheduled = false;
  let lastArgs = [];
  return (...args) => {
    lastArgs = args;
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      fn(...lastArgs);
    });
  };
}

/** Scroll containers → the IntersectionObserver watching their content, and the callbacks waiting. */
const nearObservers = new WeakMap();
const nearCallbacks = new WeakMap();

/**
 * Calls `callback` once, when `el` comes within `margin` pixels of being seen in its scroll
 * container (`scroller`: a CSS selector of the ancestor that scrolls), so that a long history
 * does not fetch what nobody scrolls to. `el` may be built before it is inserted.
 */
export function whenNear(el, callback, { scroller = '.messages', margin = 800 } = {}) {
  requestAnimationFrame(() => {
    if (!el.isConnected) {
      // Not inserted (yet, or any more): a row replaced before it showed. Try once more later.
      setTimeout(() => (el.isConnected ? observe(el, callback, scroller, margin) : null), 500);
      return;
    }
    observe(el, callback, scroller, margin);
  });
}

function observe(el, callback, scroller, margin) {
  const root = el.closest(scroller);
  if (!root || typeof IntersectionObserver !== 'function') {
    callback();
    return;
  }
  let observer = nearObservers.get(root);
  if (!observer) {
    observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer.unobserve(entry.target);
        const waiting = nearCallbacks.get(entry.target);
        nearCallbacks.delete(entry.target);
        waiting?.();
      }
    }, { root, rootMargin: `${margin}px 0px` });
    nearObservers.set(root, observer);
  }
  nearCallbacks.set(el, callback);
  observer.observe(el);
}
