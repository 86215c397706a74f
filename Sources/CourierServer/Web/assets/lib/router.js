// Where the user is in the app. The server serves the page at `/` and `/r/<reference>` only, so
// screens inside the app live in the hash: `#/chat/<id>`, `#/settings`, `#/premium`.

/** The current route: {name: 'home' | 'chat' | 'settings' | 'premium' | 'reference', id?} */
export function currentRoute() {
  const reference = location.pathname.match(/^\/r\/([^/]+)\/?$/);
  if (reference) return { name: 'reference', id: decodeURIComponent(reference[1]) };
  const [, name = '', id] = location.hash.replace(/^#\/?/, '').match(/^([^/]*)\/?(.*)$/) ?? [];
  if (name === 'chat' && id) return { name: 'chat', id: decodeURIComponent(id) };
  if (name === 'settings' || name === 'premium') return { name };
  return { name: 'home' };
}

/** The href of a route (for links, so they work with the keyboard and middle-click). */
export function href(name, id) {
  if (name === 'chat') return `/#/chat/${encodeURIComponent(id)}`;
  if (name === 'home') return '/#/';
  return `/#/${name}`;
}

/** Goes to a route. Leaves `/r/<ref>` for `/` without reloading the page. */
export function navigate(name, id) {
  const target = href(name, id);
  if (location.pathname !== '/') {
    history.pushState(null, '', target);
    window.dispatchEvent(new Event('routechange'));
  } else {
    location.hash = target.slice(1);
  }
}

/** Calls `listener` whenever the route changes (hash links, back and forward buttons). */
export function onRouteChange(listener) {
  window.addEventListener('hashchange', listener);
  window.addEventListener('popstate', listener);
  window.addEventListener('routechange', listener);
  return () => {
    window.removeEventListener('hashchange', listener);
    window.removeEventListener('popstate', listener);
    window.removeEventListener('routechange', listener);
  };
}
