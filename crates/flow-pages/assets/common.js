// flowd hosted pages: what every page script shares. No framework, no build step; text is
// only ever set with textContent, never parsed as HTML.
"use strict";

window.flowd = (function () {
  function data(id) {
    const node = document.getElementById(id);
    try {
      return node ? JSON.parse(node.textContent) : {};
    } catch (_) {
      return {};
    }
  }

  const strings = data("flowd-strings");
  const page = data("flowd-page");

  /** The interface text of `key` (the key itself if the catalogue lacks it). */
  function t(key) {
    return typeof strings[key] === "string" ? strings[key] : key;
  }

  /** An element: `attrs` are attributes (null or false leaves one out), `children` nodes or text. */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of [].concat(children || [])) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  /** Shows `message` in the page's alert region, which stays in the page so that screen
   *  readers announce each change; it is emptied first, so a repeated message is read again. */
  function announce(message) {
    const region = document.getElementById("announce");
    if (!region) return;
    region.textContent = "";
    if (message) window.requestAnimationFrame(() => { region.textContent = message; });
  }

  /** Replaces the page's stage with `nodes`. */
  function show(nodes) {
    const stage = document.getElementById("stage");
    stage.replaceChildren(...[].concat(nodes));
  }

  /** Whether `to` may be followed: an http(s) URL, or a relative one that stays on this
   *  server once the browser has parsed it (it drops tabs and newlines: "/\t/x" is "//x"). */
  function safeTarget(to) {
    if (typeof to !== "string" || to === "") return false;
    let url;
    try {
      url = new URL(to, window.location.href);
    } catch (_) {
      return false;
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") return false;
    const absolute = /^[a-z][a-z0-9+.-]*:/i.test(to.trim());
    return absolute || url.origin === window.location.origin;
  }

  /** JSON of `response`, or null when its body is not JSON. */
  async function json(response) {
    try {
      return await response.json();
    } catch (_) {
      return null;
    }
  }

  return { t, el, announce, show, page, safeTarget, json };
})();
