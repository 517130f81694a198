// People: search (free text or "tag: X") and one person's page (fields, attributes, tags,
// events, in-app inbox, and "Merge into…" for a lead).

import { api, isUnavailable, query, unavailable } from "./api.js";
import { append, clear, errorBox, field, fmtDate, fmtDay, h, notice, table } from "./dom.js";
import { mergeNotice, mergeSection } from "./merge.js";

function tagLink(name) {
  return h("a", { class: "tag", href: `#/people${query({ q: `tag: ${name}` })}` }, name);
}

function displayName(p) {
  return p.name || p.email || p.user_id || p.id;
}

export async function people(ctx) {
  const q = ctx.query.get("q") || "";
  const input = h("input", { type: "search", id: "people-search", value: q, autocomplete: "off" });
  const results = h("div", { id: "people-results", "aria-live": "polite" });
  const tags = h("div", { class: "tag-list" });
  ctx.main.append(
    h("h1", {}, "People"),
    h(
      "form",
      {
        class: "search",
        role: "search",
        onsubmit: (event) => {
          event.preventDefault();
          const text = input.value.trim();
          ctx.navigate(`/people${query({ q: text })}`);
        },
      },
      field("Search people", input, {
        hint: "A name or an email, or “tag: New Sign-Ups 2015” for everyone with that tag.",
      }).wrap,
      h("button", { type: "submit" }, "Search"),
    ),
    results,
    h("section", { class: "tags-section" }, h("h2", {}, "Tags"), tags),
  );

  api("GET", "/api/tags?limit=200")
    .then((page) => {
      clear(tags);
      if (!page.data.length) tags.append(h("p", { class: "hint" }, "No tags yet: imports tag the people they bring in."));
      else tags.append(h("ul", {}, page.data.map((t) => h("li", {}, tagLink(t.name)))));
    })
    .catch((error) => clear(tags).append(errorBox(error, "Tags could not be loaded")));

  const found = [];
  const more = h("div", { class: "actions" });
  const load = async (cursor) => {
    const page = await api("GET", `/api/users${query({ q, limit: 50, cursor })}`);
    found.push(...page.data);
    clear(results);
    const what = q ? `matching “${q}”` : "in this workspace, newest first";
    const count = `${found.length}${page.next_cursor ? "+" : ""} ${found.length === 1 ? "person" : "people"} ${what}`;
    results.append(h("p", { class: "result-count", "data-testid": "result-count" }, count));
    if (found.length) {
      results.append(
        table(
          ["Name", "Email", "User ID", "Role", "Tags", "Signed up"],
          found.map((p) => [
            h("a", { href: `#/people/${encodeURIComponent(p.id)}` }, displayName(p)),
            p.email || "—",
            p.user_id || "—",
            p.role === "lead" ? "Lead" : "User",
            p.tags.length ? h("span", { class: "tags" }, p.tags.map(tagLink)) : "—",
            fmtDay(p.signed_up_at),
          ]),
          { caption: "People" },
        ),
      );
    }
    clear(more);
    if (page.next_cursor) {
      more.append(
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => load(page.next_cursor).catch((e) => more.append(errorBox(e))) },
          "Show more",
        ),
      );
    }
  };
  results.after(more);
  try {
    await load(null);
  } catch (error) {
    clear(results).append(errorBox(error, "The search failed"));
  }
}

function definitions(pairs) {
  return h(
    "dl",
    { class: "fields" },
    pairs.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value === null || value === undefined || value === "" ? "—" : value))),
  );
}

// How a date attribute's value is stored (shared.values.coerce): ISO 8601 with an offset.
const STORED_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function attributeValue(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "object") return JSON.stringify(value);
  if (typeof value === "string" && STORED_DATE.test(value)) return fmtDay(value);
  return String(value);
}

export async function person(ctx) {
  const [id] = ctx.params;
  const p = await api("GET", `/api/users/${encodeURIComponent(id)}`);
  const events = h("div", { "aria-live": "polite" }, h("p", { class: "hint" }, "Loading events…"));
  const inbox = h("div", { "aria-live": "polite" }, h("p", { class: "hint" }, "Loading the inbox…"));
  const custom = Object.entries(p.custom_attributes || {});
  append(ctx.main, [
    h("p", { class: "crumbs" }, h("a", { href: "#/people" }, "People")),
    h("h1", {}, displayName(p)),
    mergeNotice(p.id),
    h(
      "div",
      { class: "person-grid" },
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Details"),
        definitions([
          ["Role", p.role === "lead" ? "Lead" : "User"],
          ["Email", p.email],
          ["User ID", p.user_id],
          ["Name", p.name],
          ["Phone", p.phone],
          ["Signed up", p.signed_up_at ? fmtDay(p.signed_up_at) : null],
          ["Last seen", p.last_seen_at ? fmtDay(p.last_seen_at) : null],
          ["Last seen IP", p.last_seen_ip],
          ["Created", fmtDate(p.created_at)],
          ["Updated", fmtDate(p.updated_at)],
          ["Usher ID", p.id],
        ]),
      ),
      h(
        "section",
        { class: "card" },
        h("h2", {}, "Custom attributes"),
        custom.length ? definitions(custom.map(([k, v]) => [k, attributeValue(v)])) : h("p", { class: "hint" }, "None."),
        h("h2", {}, "Tags"),
        p.tags.length ? h("ul", { class: "tag-list" }, p.tags.map((t) => h("li", {}, tagLink(t)))) : h("p", { class: "hint" }, "No tags."),
      ),
    ),
    mergeSection(p, { navigate: ctx.navigate, parent: ctx.main, nameOf: displayName }),
    h("section", { class: "card", id: "inbox" }, h("h2", {}, "Inbox"), inbox),
    h("section", { class: "card", id: "events" }, h("h2", {}, "Events"), events),
  ]);

  const base = `/api/users/${encodeURIComponent(id)}`;
  api("GET", `${base}/messages?limit=100`)
    .then((page) => {
      clear(inbox);
      if (!page.data.length) {
        inbox.append(h("p", { class: "hint" }, "No in-app messages yet."));
        return;
      }
      inbox.append(
        h(
          "ul",
          { class: "inbox" },
          page.data.map((m) =>
            h(
              "li",
              {},
              h("p", { class: "subject" }, m.subject || m.message_name || "(no subject)"),
              h("p", { class: "body" }, m.body || ""),
              h(
                "p",
                { class: "hint" },
                "From ",
                h("a", { href: `#/messages/${encodeURIComponent(m.message_id)}` }, m.message_name || m.message_id),
                ` · ${fmtDate(m.delivered_at || m.created_at)}`,
              ),
            ),
          ),
        ),
      );
    })
    .catch((error) => clear(inbox).append(errorBox(error, "The inbox could not be loaded")));

  api("GET", `${base}/events?limit=100`)
    .then((page) => {
      clear(events);
      if (!page.data.length) {
        events.append(h("p", { class: "hint" }, "No events yet."));
        return;
      }
      events.append(
        table(
          ["Event", "When", "Metadata"],
          page.data.map((e) => [
            e.event_name || e.name || "—",
            fmtDate(e.created_at),
            e.metadata && Object.keys(e.metadata).length
              ? Object.entries(e.metadata)
                  .map(([k, v]) => `${k}: ${attributeValue(v)}`)
                  .join(" · ")
              : "—",
          ]),
          { caption: "Events, newest first" },
        ),
      );
    })
    .catch((error) => {
      clear(events);
      events.append(isUnavailable(error) ? notice(unavailable("Events are")) : errorBox(error, "Events could not be loaded"));
    });
}
