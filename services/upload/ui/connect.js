// Connect: a team that already sends people and events with a Segment library or Intercom's SDK
// points it at Usher by changing one setting, the library's base URL (analytics-node: host and
// path). The page has a tab per source (`#/connect?source=segment|intercom`): that source's base
// URL, the key to give it (the workspace token, masked until shown), snippets to copy with the
// real values, then the last messages received from it with what became of each
// (GET /api/ingestion, or only those with problems from /api/ingestion-errors).
// `#/connect?source=…&log=all|problems` opens at the log.

import { api, isUnavailable, query, session, unavailable } from "./api.js";
import { clear, errorBox, h, notice, table, uid } from "./dom.js";
import { meta } from "./meta.js";

const LIMIT = 20;
const TOKEN = Symbol("token"); // where a snippet holds the key

const OUTCOMES = {
  created: ["Created", "ok"],
  updated: ["Updated", "ok"],
  deleted: ["Deleted", "ok"],
  stored: ["Event stored", "ok"],
  ignored: ["Ignored", "ignored"],
  failed: ["Failed", "failed"],
};

/** The Segment snippets, as parts (text, and TOKEN where the key goes), with how to install the library. */
function segmentSnippets(origin, base) {
  return [
    {
      name: "Python",
      install: "pip install segment-analytics-python",
      note: null,
      parts: [
        "from segment.analytics import Client\n\n",
        'analytics = Client("', TOKEN, `", host="${base}")\n`,
        'analytics.identify("u-1", {"email": "ada@example.com", "name": "Ada Lovelace", "plan": "pro"})\n',
        'analytics.track("u-1", "Order Completed", {"order_id": "o-1", "revenue": 12.5})\n',
        "analytics.flush()  # send what is queued before the program ends\n",
      ],
    },
    {
      name: "Node.js",
      install: "npm install @segment/analytics-node",
      note: "This library needs the path too: host is Usher's address, path is /segment/v1/batch. Save the snippet as a .mjs file (an ES module).",
      // analytics-node joins them as new URL(path, host): an absolute path replaces the host's
      // own ("/segment" + "/v1/batch" would post to /v1/batch), so the path says it all.
      parts: [
        'import { Analytics } from "@segment/analytics-node";\n\n',
        "const analytics = new Analytics({\n",
        '  writeKey: "', TOKEN, '",\n',
        `  host: "${origin}",\n`,
        '  path: "/segment/v1/batch",\n',
        "});\n",
        'analytics.identify({ userId: "u-1", traits: { email: "ada@example.com", name: "Ada Lovelace", plan: "pro" } });\n',
        'analytics.track({ userId: "u-1", event: "Order Completed", properties: { order_id: "o-1", revenue: 12.5 } });\n',
        "await analytics.closeAndFlush();\n",
      ],
    },
    {
      name: "curl",
      install: null,
      note: "One identify over plain HTTP: the write key is the Basic auth user name, with no password.",
      parts: [
        "curl -u ", TOKEN, ": -H 'Content-Type: application/json' \\\n",
        `  ${base}/v1/identify \\\n`,
        `  -d '{"userId":"u-1","traits":{"email":"ada@example.com"}}'\n`,
      ],
    },
  ];
}

/** The Intercom snippets: the usual import script (create; on 409 update the one that exists). */
function intercomSnippets(origin, base) {
  return [
    {
      name: "Python",
      install: "pip install python-intercom",
      note: "A create that finds the person already there is answered 409, with the id in its message, as Intercom answers it: the script then updates that contact.",
      parts: [
        "import re\n",
        "from intercom import Intercom\n",
        "from intercom.core.api_error import ApiError\n\n",
        'client = Intercom(base_url="', base, '", token="', TOKEN, '")\n\n',
        'person = {"external_id": "u-1", "email": "ada@example.com", "name": "Ada Lovelace",\n',
        '          "custom_attributes": {"plan": "pro"}}\n',
        "try:\n",
        '    contact = client.contacts.create(request={"role": "user", **person})\n',
        "except ApiError as e:\n",
        "    if e.status_code != 409:\n",
        "        raise\n",
        '    existing = re.search(r"id=(\\S+)", e.body["errors"][0]["message"]).group(1)\n',
        "    contact = client.contacts.update(existing, **person)\n",
        'client.events.create(request={"event_name": "placed-order", "created_at": 1717000000,\n',
        '                              "user_id": "u-1", "metadata": {"order_id": "o-1"}})\n',
      ],
    },
    {
      name: "curl",
      install: null,
      note: "One contact over plain HTTP, with the workspace token as the Bearer token.",
      parts: [
        "curl -H 'Authorization: Bearer ", TOKEN, "' -H 'Content-Type: application/json' \\\n",
        `  ${base}/contacts \\\n`,
        `  -d '{"role":"user","external_id":"u-1","email":"ada@example.com"}'\n`,
      ],
    },
  ];
}

/** What the page says about each source. */
const SOURCES = {
  segment: {
    label: "Segment",
    path: "/segment",
    baseLabel: "Base URL (the library's host)",
    keyLabel: "Write key (your workspace token)",
    keyWord: "write key",
    lead: "A team that already sends identifies and tracks with a Segment library can send them to Usher instead by changing one setting, the library's host, to the base URL below, with the workspace token as its write key.",
    about: "An identify creates or updates a person (a user with a userId, or a lead with only an anonymousId and traits.email); a track adds an event to a user.",
    snippets: segmentSnippets,
    sender: "your Segment library",
    empty: "Nothing received yet: send an identify with the snippet above.",
  },
  intercom: {
    label: "Intercom",
    path: "/intercom",
    baseLabel: "Base URL (the SDK's base_url)",
    keyLabel: "Access token (your workspace token)",
    keyWord: "access token",
    lead: "Scripts written for Intercom's REST API (version 2.x) and its SDKs work against Usher when their base URL is the one below and their access token is the workspace token. Contacts, tags and events land in the same customer list, under the same identity rules, as every import.",
    about: "Usher answers the calls an import script makes: contacts (create, find, find by external id, search, update, merge, delete), tags and events. Times are Unix seconds, as Intercom's are.",
    snippets: intercomSnippets,
    sender: "your Intercom client",
    empty: "Nothing received yet: create a contact with the snippet above.",
  },
};

/** The source the page shows: `?source=`, Segment unless it names another. */
function sourceOf(ctx) {
  const asked = ctx.query.get("source");
  return Object.hasOwn(SOURCES, asked) ? asked : "segment";
}

/**
 * Put `text` on the clipboard; resolves to whether it worked. The Clipboard API needs a secure
 * context (https, or localhost) and the page's permission; without them the older
 * execCommand("copy") of a hidden, selected textarea still works in most browsers.
 */
async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // refused: try the older way below
  }
  const back = document.activeElement;
  const area = h("textarea", { class: "visually-hidden", readonly: true, tabindex: "-1", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let done = false;
  try {
    done = document.execCommand("copy");
  } catch {
    done = false;
  }
  area.remove();
  if (back instanceof HTMLElement) back.focus();
  return done;
}

/** A Copy button and the status beside it ("Copied"); `text()` is read at each click. */
function copyButton(ariaLabel, text) {
  const status = h("span", { class: "copy-status", role: "status" });
  let timer = null;
  const button = h(
    "button",
    {
      type: "button",
      class: "secondary small",
      "aria-label": ariaLabel,
      onclick: async () => {
        clearTimeout(timer);
        status.textContent = "";
        status.classList.remove("failed");
        const done = await copyText(text());
        status.textContent = done ? "Copied" : "Not copied: select the text and copy it yourself";
        status.classList.toggle("failed", !done);
        timer = setTimeout(() => {
          status.textContent = "";
        }, 6000);
      },
    },
    "Copy",
  );
  return h("span", { class: "copy" }, button, status);
}

/** The write key, shown or masked in every place it appears (the key itself and each snippet). */
function secret(token) {
  const spans = [];
  let shown = false;
  const masked = token ? "•".repeat(12) + (token.length > 16 ? token.slice(-4) : "") : PLACEHOLDER;
  const draw = () => {
    for (const span of spans) span.textContent = shown ? token : masked;
  };
  return {
    span() {
      const span = h("span", { class: "secret" });
      spans.push(span);
      draw();
      return span;
    },
    toggle() {
      shown = !shown;
      draw();
      return shown;
    },
  };
}

const PLACEHOLDER = "YOUR_WORKSPACE_TOKEN";

/**
 * Where the key goes when this page does not know it (the browser was signed in from another
 * tab: the token is never stored): the snippets say YOUR_WORKSPACE_TOKEN, and the token can be
 * pasted to fill them in (kept in this page's memory only).
 */
function tokenForm(ctx, source) {
  const input = h("input", { type: "password", id: uid("paste-token"), autocomplete: "off", spellcheck: "false" });
  return h(
    "form",
    {
      class: "paste-token",
      onsubmit: (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (!value) {
          input.focus();
          return;
        }
        session.token = value;
        ctx.navigate(`/connect${query({ source: ctx.query.get("source") })}`);
      },
    },
    h("label", { for: input.id }, `Paste your ${source.keyWord} to put it in the snippets`),
    h("span", { class: "paste-row" }, input, h("button", { type: "submit", class: "secondary small" }, "Fill in")),
    h("p", { class: "hint" }, "Usher keeps no copy of the token in your browser, so a tab opened after signing in shows this placeholder."),
  );
}

function settings(ctx, source, base, token, key) {
  const show = h(
    "button",
    {
      type: "button",
      class: "secondary small",
      "aria-label": `Show the ${source.keyWord}`,
      "aria-controls": "write-key",
      onclick: () => {
        const shown = key.toggle();
        show.textContent = shown ? "Hide" : "Show";
        show.setAttribute("aria-label", `${shown ? "Hide" : "Show"} the ${source.keyWord}`);
      },
    },
    "Show",
  );
  return h(
    "section",
    { class: "card", "aria-labelledby": "connect-settings" },
    h("h2", { id: "connect-settings" }, "Your settings"),
    h(
      "dl",
      { class: "connect-values" },
      h(
        "div",
        {},
        h("dt", {}, source.baseLabel),
        h("dd", {}, h("code", { id: "base-url", class: "value" }, base), h("span", { class: "value-actions" }, copyButton("Copy the base URL", () => base))),
      ),
      h(
        "div",
        {},
        h("dt", {}, source.keyLabel),
        h(
          "dd",
          {},
          h("code", { id: "write-key", class: "value" }, key.span()),
          token ? h("span", { class: "value-actions" }, show, copyButton(`Copy the ${source.keyWord}`, () => token)) : tokenForm(ctx, source),
          h("p", { class: "hint" }, "Anyone holding it can read and change this workspace: use it in server code only, never in a web page or an app.", token ? " Show also reveals it in the snippets below." : ""),
        ),
      ),
    ),
  );
}

function snippetSection(snippet, token, key) {
  const id = uid("snippet");
  const code = h("code", {}, snippet.parts.map((p) => (p === TOKEN ? key.span() : p)));
  const text = () => snippet.parts.map((p) => (p === TOKEN ? token || PLACEHOLDER : p)).join("");
  return h(
    "section",
    { class: "snippet", "aria-labelledby": id },
    h("div", { class: "snippet-head" }, h("h3", { id }, snippet.name), copyButton(`Copy the ${snippet.name} snippet`, text)),
    snippet.install ? h("p", { class: "hint" }, "Install: ", h("code", {}, snippet.install)) : null,
    snippet.note ? h("p", { class: "hint" }, snippet.note) : null,
    h("pre", { "data-testid": `snippet-${snippet.name}` }, code),
  );
}

/** "an identify without userId needs traits.email" → "An identify without userId needs traits.email." */
function sentence(text) {
  const trimmed = String(text).trim();
  const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

function when(value) {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return h("time", { datetime: value }, date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }));
}

function outcomeBadge(outcome) {
  const [text, kind] = OUTCOMES[outcome] || [outcome, "ok"];
  return h("span", { class: `badge outcome-${kind}` }, text);
}

function problemList(m) {
  if (!m.problems.length) {
    return m.outcome === "ignored" ? h("span", { class: "hint" }, `Usher does not use ${m.type} messages: only identify and track.`) : "—";
  }
  const level = m.outcome === "failed" ? "error" : "warning";
  return h("ul", { class: "row-problems" }, m.problems.map((p) => h("li", { class: level }, sentence(p))));
}

function typeName(type) {
  return type ? type.charAt(0).toUpperCase() + type.slice(1) : "—";
}

/** The last messages received, newest first, with a Refresh button and "Only problems". */
function messageLog(ctx, name, source) {
  const heading = h("h2", { id: "log", tabindex: "-1" }, "Last messages received");
  const only = h("input", { type: "checkbox", id: uid("only-problems"), checked: ctx.query.get("log") === "problems" });
  const status = h("p", { class: "hint log-status", role: "status" });
  const report = (counted, at) => {
    // The caption says the count on screen; a screen reader hears it with the time.
    clear(status).append(...(counted ? [h("span", { class: "visually-hidden" }, `${counted}. `)] : []), `Updated at ${at}.`);
  };
  const slot = h("div", { class: "log-slot" });
  let seq = 0;

  const load = async () => {
    seq += 1;
    const mine = seq;
    const problems = only.checked;
    const path = problems ? "/api/ingestion-errors" : "/api/ingestion";
    slot.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await api("GET", `${path}${query({ source: name, limit: LIMIT })}`);
    } catch (error) {
      if (mine !== seq) return;
      slot.removeAttribute("aria-busy");
      clear(slot).append(
        isUnavailable(error) ? notice(unavailable("The message log is")) : errorBox(error, "The messages received could not be loaded"),
      );
      status.textContent = "";
      return;
    }
    if (mine !== seq) return;
    slot.removeAttribute("aria-busy");
    const rows = page.data;
    const at = new Date().toLocaleTimeString(undefined, { timeStyle: "medium" });
    clear(slot);
    if (!rows.length) {
      slot.append(
        h(
          "p",
          { class: "empty-state" },
          problems
            ? `No problems: every message received in the last ${meta.ingestion_days} days was applied in full.`
            : source.empty,
        ),
      );
      report(null, at);
      return;
    }
    const noun = rows.length === 1 ? "message" : "messages";
    const which = problems ? `${noun} with problems` : noun;
    const caption = page.next_cursor ? `The last ${rows.length} ${which}, newest first` : `${rows.length} ${which}, newest first`;
    slot.append(
      table(
        ["Received", "Type", "Outcome", "Problems", "Person"],
        rows.map((m) => [
          when(m.received_at),
          typeName(m.type),
          outcomeBadge(m.outcome),
          problemList(m),
          m.contact_id
            ? h("a", { href: `#/people/${encodeURIComponent(m.contact_id)}`, "aria-label": `Open the person of the ${m.type} received at ${new Date(m.received_at).toLocaleTimeString()}` }, "Open")
            : "—",
        ]),
        { caption },
      ),
    );
    report(caption, at);
  };

  only.addEventListener("change", () => {
    // The filter is in the address, so a reload or a shared link shows the same list.
    history.replaceState(null, "", `#/connect${query({ source: name, log: only.checked ? "problems" : "all" })}`);
    load();
  });
  const section = h(
    "section",
    { class: "log", "aria-labelledby": "log" },
    heading,
    h(
      "p",
      { class: "hint" },
      `The last ${LIMIT} messages ${source.sender} sent, newest first, and what Usher did with each. Messages are kept for ${meta.ingestion_days} days.`,
    ),
    h(
      "div",
      { class: "log-tools" },
      h("div", { class: "check" }, only, h("label", { for: only.id }, "Only problems")),
      h("button", { type: "button", class: "secondary", onclick: () => load() }, "Refresh"),
    ),
    status,
    slot,
  );
  return { section, load, heading };
}

/** A tab per source: links, so each source has its own address. */
function sourceTabs(current) {
  return h(
    "nav",
    { class: "tabs", "aria-label": "Sources" },
    Object.entries(SOURCES).map(([name, source]) =>
      h("a", { href: `#/connect${query({ source: name })}`, "aria-current": name === current ? "page" : null }, source.label),
    ),
  );
}

export async function connectPage(ctx) {
  const name = sourceOf(ctx);
  const source = SOURCES[name];
  const token = session.token;
  const base = `${location.origin}${source.path}`;
  const key = secret(token);
  const log = messageLog(ctx, name, source);
  ctx.main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Connect")),
    sourceTabs(name),
    h("p", { class: "lead" }, source.lead),
    settings(ctx, source, base, token, key),
    h(
      "section",
      { class: "card", "aria-labelledby": "connect-snippets" },
      h("h2", { id: "connect-snippets" }, "Snippets"),
      h("p", { class: "hint" }, source.about),
      source.snippets(location.origin, base).map((s) => snippetSection(s, token, key)),
    ),
    log.section,
  );
  await log.load();
  if (ctx.query.has("log")) log.heading.focus();
}
