// People: search (services/upload/people_query.py reads the text: a name, an email or a user
// ID; "tag: X"; "field: value"; "seats > 30"), with the exact count, and one person's page
// (fields, attributes, tags, failed import rows naming them, events, in-app inbox, and
// "Merge into…" for a lead).

import { api, isUnavailable, query, unavailable } from "./api.js";
import { append, clear, errorBox, fmtDate, fmtDay, fmtNumber, h, notice, table, uid } from "./dom.js";
import { mergeNotice, mergeSection } from "./merge.js";

const PAGE = 50;
const QUOTE = /^["'“‘„]/;

/** The search for a tag: quoted when the name starts with a quote of its own. */
export function tagQuery(name) {
  return QUOTE.test(name) ? `tag: "${name}"` : `tag: ${name}`;
}

function tagLink(name) {
  return h("a", { class: "tag", href: `#/people${query({ q: tagQuery(name) })}` }, name);
}

function displayName(p) {
  return p.name || p.email || p.user_id || p.id;
}

const peopleCount = (n) => `${fmtNumber(n)} ${n === 1 ? "person" : "people"}`;

/** The search box: its label, the text and the button on one line, the grammar beneath. */
function searchForm(q, onSearch) {
  const input = h("input", { type: "search", id: "people-search", value: q, autocomplete: "off", spellcheck: "false" });
  const hintId = uid("search-hint");
  input.setAttribute("aria-describedby", hintId);
  const example = (text) => h("code", {}, text);
  return h(
    "form",
    {
      class: "search people-search",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        onSearch(input.value.trim());
      },
    },
    h("label", { for: input.id }, "Search people"),
    h("div", { class: "search-row" }, input, h("button", { type: "submit" }, "Search")),
    h(
      "p",
      { class: "hint", id: hintId },
      "A name, an email or a user ID; ",
      example("tag: New Sign-Ups 2015"),
      " for a tag; ",
      example("plan: pro"),
      " or ",
      example("email: ann@example.com"),
      " for a field or a custom attribute (",
      example("custom.plan: pro"),
      " too); ",
      example("seats > 30"),
      " or ",
      example("signed_up_at < 2015-01-01"),
      " for numbers and dates. Quotes around a value are optional.",
    ),
  );
}

/** Failed import rows (GET /api/users/failed-rows), each with its errors and its import. */
function failedRowList(rows) {
  return h(
    "ul",
    { class: "failed-naming" },
    rows.map((r) =>
      h(
        "li",
        {},
        h("p", {}, h("strong", {}, `Row ${fmtNumber(r.row)} of ${r.file_name || "an import"}`), ` (imported ${fmtDate(r.import_created_at)}) failed:`),
        h("ul", {}, r.errors.map((e) => h("li", {}, e))),
        h("p", {}, h("a", { href: `#/imports/${encodeURIComponent(r.import_id)}` }, `See the import of ${r.file_name || "this file"}`)),
      ),
    ),
  );
}

const ROW_NUMBERS = "Rows are counted from the first row under the header: row 1 is line 2 of the file.";

export async function people(ctx) {
  const q = ctx.query.get("q") || "";
  const results = h("div", { id: "people-results", "aria-live": "polite" });
  const failed = h("div", { class: "failed-slot" });
  const tags = h("div", { class: "tag-list" });
  ctx.main.append(
    h("h1", {}, "People"),
    searchForm(q, (text) => ctx.navigate(`/people${query({ q: text })}`)),
    results,
    failed,
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
  let total = null; // the exact count; null when it could not be read
  const more = h("div", { class: "actions" });
  const what = q ? `matching “${q}”` : "in this workspace, newest first";
  const countLine = (page) => {
    if (total !== null) return `${peopleCount(total)} ${what}`;
    return `${fmtNumber(found.length)}${page.next_cursor ? "+" : ""} ${found.length === 1 ? "person" : "people"} ${what}`;
  };
  const draw = (page) => {
    clear(results);
    results.append(h("p", { class: "result-count", "data-testid": "result-count" }, countLine(page)));
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
          { caption: total !== null && total > found.length ? `People: the first ${fmtNumber(found.length)} of ${fmtNumber(total)}` : "People" },
        ),
      );
    }
    clear(more);
    if (page.next_cursor) {
      const left = total !== null ? total - found.length : null;
      const button = h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: async () => {
            button.disabled = true;
            try {
              await load(page.next_cursor);
            } catch (error) {
              button.disabled = false;
              more.append(errorBox(error, "More people could not be loaded"));
            }
          },
        },
        left === null ? "Show more" : left <= PAGE ? `Show the other ${fmtNumber(left)}` : `Show ${PAGE} more (${fmtNumber(left)} not shown yet)`,
      );
      more.append(button);
    }
  };
  const load = async (cursor) => {
    const page = await api("GET", `/api/users${query({ q, limit: PAGE, cursor })}`);
    found.push(...page.data);
    draw(page);
  };
  results.after(more);

  const counting = api("GET", `/api/users/count${query({ q })}`).then(
    (answer) => answer.count,
    () => null, // the list is still worth showing: its line then says "50+"
  );
  const naming = q
    ? api("GET", `/api/users/failed-rows${query({ q })}`).then(
        (page) => page.data,
        () => [],
      )
    : Promise.resolve([]);
  try {
    const [page, count] = await Promise.all([api("GET", `/api/users${query({ q, limit: PAGE })}`), counting]);
    total = count;
    found.push(...page.data);
    draw(page);
  } catch (error) {
    clear(results).append(errorBox(error, q ? "This search cannot run" : "People could not be listed"));
    return;
  }
  const rows = await naming;
  if (rows.length && failed.isConnected) {
    failed.append(
      h(
        "section",
        { class: "card failed-rows-naming", "data-testid": "failed-naming" },
        h("h2", {}, found.length ? `Import rows for “${q}” that failed` : `Nobody matches, but import rows for “${q}” failed`),
        h(
          "p",
          { class: "hint" },
          found.length
            ? "These rows named this email or user ID and were not imported; what the list shows comes from other rows or imports."
            : "Nothing from a failed row is imported, so the person was not created. Fix the row and import it again.",
        ),
        failedRowList(rows),
        h("p", { class: "hint" }, ROW_NUMBERS),
      ),
    );
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
  const failedSlot = h("div");
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
    failedSlot,
    mergeSection(p, { navigate: ctx.navigate, parent: ctx.main, nameOf: displayName }),
    h("section", { class: "card", id: "inbox" }, h("h2", {}, "Inbox"), inbox),
    h("section", { class: "card", id: "events" }, h("h2", {}, "Events"), events),
  ]);

  const base = `/api/users/${encodeURIComponent(id)}`;
  // Rows of imports that named this person and failed: their values did not reach them.
  if (p.email || p.user_id) {
    api("GET", `/api/users/failed-rows${query({ email: p.email, user_id: p.user_id })}`)
      .then((page) => {
        if (!page.data.length) return;
        failedSlot.append(
          h(
            "section",
            { class: "card failed-rows-naming", id: "failed-rows", "data-testid": "failed-naming" },
            h("h2", {}, "Import rows for this person that failed"),
            h("p", { class: "hint" }, "These rows named this person's email or user ID; nothing from them was imported."),
            failedRowList(page.data),
            h("p", { class: "hint" }, ROW_NUMBERS),
          ),
        );
      })
      .catch((error) => failedSlot.append(errorBox(error, "The failed import rows could not be listed")));
  }
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
