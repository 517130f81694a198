// Usher's web UI: a single page with hash routes, no build step. Each view module renders into
// <main>; everything it shows goes through dom.js (text nodes only, never HTML from data).

import { session } from "./api.js";
import { append, clear, errorBox, field, h } from "./dom.js";
import { conflictList, openConflicts } from "./conflicts.js";
import { connectPage } from "./connect.js";
import { importHistory } from "./history.js";
import { importChanges, importProgress } from "./imports.js";
import { messageForm, messageList, messagePage } from "./messages.js";
import { loadMeta } from "./meta.js";
import { people, person } from "./people.js";
import { importWizard } from "./wizard.js";

const routes = [
  [/^\/import$/, importWizard, "Import people"],
  [/^\/import\/([^/]+)$/, importWizard, "Import people"], // a step's own address (wizard.js)
  [/^\/import\/([^/]+)\/([^/]+)$/, importWizard, "Import people"],
  [/^\/imports$/, importHistory, "Import history"],
  [/^\/imports\/([^/]+)$/, importProgress, "Import"],
  [/^\/imports\/([^/]+)\/changes$/, importChanges, "Import changes"],
  [/^\/people$/, people, "People"],
  [/^\/people\/([^/]+)$/, person, "Person"],
  [/^\/messages$/, messageList, "Messages"],
  [/^\/messages\/new$/, messageForm, "New message"],
  [/^\/messages\/([^/]+)\/edit$/, messageForm, "Edit message"],
  [/^\/messages\/([^/]+)$/, messagePage, "Message"],
  [/^\/conflicts$/, conflictList, "Conflicts"],
  [/^\/connect$/, connectPage, "Connect"],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let leaving = [];
let signInNotice = null;
let metaLoaded = false;
let restored = false; // the cookie's session looked up once, at the first render

export function navigate(path) {
  if (location.hash === `#${path}`) render();
  else location.hash = path;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/import";
  const [path, search = ""] = raw.split("?");
  return { path, query: new URLSearchParams(search) };
}

// The open conflicts' count beside "Conflicts" (read at each page change and after a
// resolution); hidden when there are none, or when the count cannot be read.
const conflictBadge = h("span", { class: "nav-count", hidden: true });

function countConflicts() {
  openConflicts()
    .then(({ count, more }) => {
      conflictBadge.hidden = count === 0;
      clear(conflictBadge).append(
        h("span", { "aria-hidden": "true" }, `${count}${more ? "+" : ""}`),
        h("span", { class: "visually-hidden" }, ` (${count}${more ? " or more" : ""} open)`),
      );
    })
    .catch(() => {
      conflictBadge.hidden = true;
    });
}

function renderNav(path) {
  clear(nav);
  if (!session.signedIn) return;
  const links = [
    ["/import", "Import people"],
    ["/imports", "Import history"],
    ["/people", "People"],
    ["/messages", "Messages"],
    ["/conflicts", "Conflicts"],
    ["/connect", "Connect"],
  ];
  const list = h("ul", { class: "nav-links" });
  for (const [href, text] of links) {
    const current = path === href || path.startsWith(`${href}/`);
    const link = h("a", { href: `#${href}`, "aria-current": current ? "page" : null }, text);
    if (href === "/conflicts") link.append(conflictBadge);
    list.append(h("li", {}, link));
  }
  countConflicts();
  // On a phone the links, the workspace and Sign out fold behind a Menu button (one line of
  // header instead of four); it opens and closes the panel, and a chosen link closes it.
  const panel = h("div", { class: "nav-panel", id: "nav-panel" });
  const toggle = h(
    "button",
    {
      type: "button",
      class: "nav-toggle",
      "aria-expanded": "false",
      "aria-controls": "nav-panel",
      onclick: () => {
        const open = toggle.getAttribute("aria-expanded") !== "true";
        toggle.setAttribute("aria-expanded", String(open));
        panel.classList.toggle("open", open);
      },
    },
    "Menu",
  );
  nav.append(toggle, panel);
  panel.append(
    list,
    h("span", { class: "nav-workspace" }, h("span", { class: "visually-hidden" }, "Signed in to the workspace "), session.workspace.name),
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async () => {
          try {
            await session.signOut();
            signInNotice = "You are signed out, in every tab of this browser.";
          } catch {
            signInNotice = "You are signed out in this tab; the server could not be reached to end the session everywhere.";
          }
          navigate("/signin");
        },
      },
      "Sign out",
    ),
  );
}

function signIn(ctx) {
  const input = h("input", { type: "password", autocomplete: "off", spellcheck: "false" });
  const token = field("Workspace token", input, {
    hint: "The token returned when your workspace was created. Signing in lasts in every tab until you close the browser (12 hours at most); the token itself is not kept.",
    required: true,
  });
  const result = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card narrow",
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        clear(result);
        const value = input.value.trim();
        if (!value) {
          result.append(errorBox({ message: "Enter your workspace token to sign in." }));
          input.focus();
          return;
        }
        button.disabled = true;
        try {
          await session.signIn(value);
          const next = ctx.query.get("next");
          navigate(next && next.startsWith("/") && next !== "/signin" ? next : "/import");
        } catch (error) {
          result.append(errorBox(error, "Could not sign in"));
          input.focus();
        } finally {
          button.disabled = false;
        }
      },
    },
    token.wrap,
    button,
  );
  append(ctx.main, [
    h("h1", { tabindex: "-1" }, "Sign in to Usher"),
    signInNotice ? h("div", { class: "alert info", role: "status" }, signInNotice) : null,
    form,
    result,
  ]);
  signInNotice = null;
  input.focus();
}

async function render() {
  for (const fn of leaving) fn();
  leaving = [];
  const { path, query } = parseHash();
  // A fresh root per render: a slow view of the previous page writes into a detached node.
  const root = h("div", { class: "view" });
  main.replaceChildren(root);
  if (!restored) {
    try {
      await session.restore();
      restored = true;
    } catch (error) {
      root.append(errorBox(error, "Usher could not be reached"));
      return;
    }
  }
  if (path === "/signin" && session.signedIn) {
    navigate("/import"); // a tab opened on the sign-in page of a signed-in browser
    return;
  }
  if (path === "/signin" || !session.signedIn) {
    renderNav("/signin");
    document.title = "Sign in · Usher";
    let signInQuery = query;
    if (path !== "/signin") {
      const next = path + (query.toString() ? `?${query}` : "");
      history.replaceState(null, "", `#/signin?next=${encodeURIComponent(next)}`);
      signInQuery = new URLSearchParams({ next });
    }
    signIn({ main: root, query: signInQuery });
    return;
  }
  renderNav(path);
  if (!metaLoaded) {
    try {
      await loadMeta();
      metaLoaded = true;
    } catch (error) {
      root.append(errorBox(error, "Usher could not be reached"));
      return;
    }
  }
  const route = routes.find(([pattern]) => pattern.test(path));
  if (!route) {
    root.append(
      h("h1", { tabindex: "-1" }, "Page not found"),
      h("p", {}, h("a", { href: "#/import" }, "Import people")),
    );
    return;
  }
  const [pattern, view, title] = route;
  const params = path.match(pattern).slice(1).map(decodeURIComponent);
  document.title = `${title} · Usher`;
  const ctx = { main: root, params, query, navigate, onLeave: (fn) => leaving.push(fn) };
  try {
    await view(ctx);
  } catch (error) {
    root.append(errorBox(error, "This page could not be loaded"));
  }
  const heading = root.querySelector("h1");
  if (heading && root.isConnected && !root.contains(document.activeElement)) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

window.addEventListener("usher:unauthorized", () => {
  if (!session.signedIn) return;
  session.clear();
  signInNotice = "Your session has ended (or you signed out in another tab): sign in again.";
  const { path, query } = parseHash(); // back to this page once signed in again
  const here = path + (query.toString() ? `?${query}` : "");
  navigate(path === "/signin" ? "/signin" : `/signin?next=${encodeURIComponent(here)}`);
});
window.addEventListener("hashchange", render);
window.addEventListener("usher:conflicts", () => session.signedIn && countConflicts());
// The skip link must not change the hash (the hash is the route).
document.querySelector(".skip-link")?.addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
render();
