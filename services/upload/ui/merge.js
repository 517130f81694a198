// "Merge into…" on the page of a lead (or of a user without a user ID), SPEC §6.4: find the
// person it really is, confirm what the merge does, merge, and go to the merged person.

import { api, query } from "./api.js";
import { fieldLabel } from "./changes.js";
import { confirmDialog } from "./dialog.js";
import { clear, errorBox, field, h, notice } from "./dom.js";
import { meta } from "./meta.js";

const RESULTS = 10;
const notices = new Map(); // contact id -> what to say on their page once, after a merge

/** Whether `p` can be merged into another contact: a lead, or a user without a user ID. */
export function canMerge(p) {
  return p.role === "lead" || !p.user_id;
}

/** What merging `from` into `into` fills in: [label, value] of each blank of `into` it fills. */
function filled(from, into) {
  const skip = new Set(["id", "role", "user_id", "tags", "custom_attributes", "created_at", "updated_at"]);
  const empty = (v) => v === null || v === undefined || v === "";
  const fields = meta.fields
    .filter((f) => f.writable && !skip.has(f.name) && empty(into[f.name]) && !empty(from[f.name]))
    .map((f) => [f.label, from[f.name]]);
  const mine = into.custom_attributes || {};
  const custom = Object.entries(from.custom_attributes || {})
    .filter(([name, v]) => empty(mine[name]) && !empty(v))
    .map(([name, v]) => [fieldLabel(`custom.${name}`), typeof v === "object" ? JSON.stringify(v) : String(v)]);
  return [...fields, ...custom];
}

function effects(from, into, nameOf) {
  const fromName = nameOf(from);
  const intoName = nameOf(into);
  const fills = filled(from, into);
  const tags = (from.tags || []).filter((t) => !(into.tags || []).includes(t));
  return h(
    "ul",
    { class: "undo-effects" },
    h("li", {}, `${intoName} keeps every value already set.`),
    h(
      "li",
      { "data-testid": "merge-fills" },
      fills.length
        ? [`Blank on ${intoName}, filled in from ${fromName}: `, fills.map(([label, v]) => `${label} (${v})`).join(", "), "."]
        : `Nothing blank on ${intoName} can be filled in from ${fromName}.`,
    ),
    h(
      "li",
      {},
      tags.length ? `${fromName}'s tags (${tags.join(", ")}), ` : `${fromName}'s `,
      "events and messages move to ",
      intoName,
      "; a message both got counts once.",
    ),
    h("li", {}, h("strong", {}, `${fromName} is then deleted.`), " A merge cannot be undone."),
  );
}

/**
 * The "Merge into…" card of contact `p` (null when it cannot be merged): a search for the person
 * to merge into, a confirmation in a dialog (in `parent`), then `navigate` to the merged person.
 */
export function mergeSection(p, { navigate, parent, nameOf }) {
  if (!canMerge(p)) return null;
  const who = p.role === "lead" ? "lead" : "person";
  const panelId = "merge-panel";
  const input = h("input", { type: "search", autocomplete: "off", spellcheck: "false" });
  const results = h("div", { class: "merge-results", "aria-live": "polite" });
  const search = h(
    "form",
    {
      class: "search",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        find(input.value.trim());
      },
    },
    field("Find the person to merge into", input, { hint: "Their name or email." }).wrap,
    h("button", { type: "submit" }, "Search"),
  );
  const panel = h("div", { id: panelId, hidden: true }, search, results);
  const open = h(
    "button",
    {
      type: "button",
      class: "secondary",
      "aria-expanded": "false",
      "aria-controls": panelId,
      onclick: () => {
        const opening = panel.hidden;
        panel.hidden = !opening;
        open.setAttribute("aria-expanded", String(opening));
        if (opening) input.focus();
      },
    },
    "Merge into…",
  );

  const merge = async (into, button) => {
    const merged = await confirmDialog({
      title: `Merge ${nameOf(p)} into ${nameOf(into)}?`,
      body: effects(p, into, nameOf),
      confirm: "Merge",
      busy: "Merging…",
      failure: "The merge did not happen",
      danger: true,
      parent,
      opener: button,
      run: () => api("POST", "/api/users/merge", { from: p.id, into: into.id }),
    });
    if (!merged) return;
    notices.set(merged.id, `${nameOf(p)} was merged into ${nameOf(merged)}.`);
    navigate(`/people/${encodeURIComponent(merged.id)}`);
  };

  const find = async (text) => {
    clear(results);
    if (!text) {
      results.append(h("p", { class: "field-error" }, "Write a name or an email to search for."));
      input.focus();
      return;
    }
    let page;
    try {
      page = await api("GET", `/api/users${query({ q: text, limit: RESULTS + 1 })}`);
    } catch (error) {
      results.append(errorBox(error, "The search failed"));
      return;
    }
    const others = page.data.filter((c) => c.id !== p.id);
    const found = others.slice(0, RESULTS);
    if (!found.length) {
      results.append(h("p", { class: "result-count" }, `Nobody else matches “${text}”.`));
      return;
    }
    const capped = others.length > RESULTS || Boolean(page.next_cursor);
    results.append(
      h("p", { class: "result-count" }, capped ? `The first ${RESULTS} matches for “${text}”: search for more of the name or email to narrow them.` : `${found.length} ${found.length === 1 ? "person matches" : "people match"} “${text}”`),
      h(
        "ul",
        { class: "merge-list" },
        found.map((c) =>
          h(
            "li",
            {},
            h(
              "div",
              { class: "merge-who" },
              h("strong", {}, nameOf(c)),
              h("span", { class: "hint" }, [c.email, c.role === "lead" ? "Lead" : c.user_id ? `User ID ${c.user_id}` : "User"].filter(Boolean).join(" · ")),
            ),
            h(
              "button",
              { type: "button", "aria-label": `Merge into ${nameOf(c)}${c.email ? ` (${c.email})` : ""}`, onclick: (event) => merge(c, event.currentTarget) },
              "Merge into this person",
            ),
          ),
        ),
      ),
    );
  };

  return h(
    "section",
    { class: "card", id: "merge" },
    h("h2", {}, "Merge into another person"),
    h(
      "p",
      {},
      `Is this ${who} someone already in Usher? Merge it into them: they keep their values, fill their blanks from this ${who}, and take over its tags, custom attributes, events and messages. This ${who} is then deleted.`,
    ),
    h("p", { class: "actions left" }, open),
    panel,
  );
}

/** The notice for contact `id`'s page, once, after a merge into them (or null). */
export function mergeNotice(id) {
  const text = notices.get(id);
  notices.delete(id);
  return text ? notice(text) : null;
}
