// An import's changes row by row (GET /api/imports/{id}/diff, SPEC §6.1): each record's result,
// how it matched, each field's old → new value, its errors and warnings. One table for a dry
// run's preview and for the record of a finished import, with a filter by result and paging.

import { api, query } from "./api.js";
import { clear, errorBox, fmtDate, fmtNumber, h, radios, table, uid } from "./dom.js";
import { meta } from "./meta.js";

const RESULTS = {
  created: "Created",
  updated: "Updated",
  unchanged: "Unchanged",
  failed: "Failed",
};
const MATCHED = {
  user_id: "matched by user ID",
  email: "matched by email",
  lead_conversion: "lead turned into a user",
};

/** What a field key of a diff or a summary is called: "Name", "Custom attribute “plan”", "Tags". */
export function fieldLabel(key) {
  if (key.startsWith("custom.")) return `Custom attribute “${key.slice("custom.".length)}”`;
  if (key === "role") return "Role";
  return meta.fields.find((f) => f.name === key)?.label || key;
}

/** Standard fields in the server's order, then custom attributes by name, then tags. */
export function fieldOrder(a, b) {
  const rank = (key) => {
    if (key === "tags") return [2, 0, key];
    if (key.startsWith("custom.")) return [1, 0, key];
    const i = meta.fields.findIndex((f) => f.name === key);
    return [0, i < 0 ? meta.fields.length : i, key];
  };
  const [ra, rb] = [rank(a), rank(b)];
  return ra[0] - rb[0] || ra[1] - rb[1] || ra[2].localeCompare(rb[2]);
}

/**
 * The four results an import's records come to, disjoint, so they add up to its rows: the API's
 * `updated` counts the unchanged too (they matched someone), the UI's "Updated" does not.
 */
export function resultCounts(counts) {
  return {
    created: counts.created,
    updated: counts.updated - (counts.unchanged || 0),
    unchanged: counts.unchanged || 0,
    failed: counts.failed,
  };
}

/** A field's value as the page shows it: "(empty)" for none, dates in the reader's time. */
export function fieldValue(key, v) {
  if (v === null || v === undefined || v === "") return h("span", { class: "empty" }, "(empty)");
  const date = meta.fields.find((f) => f.name === key)?.kind === "date";
  if (date && typeof v === "string") return fmtDate(v);
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function changeItems(entry) {
  const keys = Object.keys(entry.changes || {}).sort(fieldOrder);
  return keys.map((key) => {
    const change = entry.changes[key];
    const name = h("span", { class: "change-field" }, `${fieldLabel(key)}: `);
    if (key === "tags") return h("li", {}, name, (change.added || []).map((t) => `+ ${t}`).join(", "));
    if (entry.result === "created" || change.old === null || change.old === undefined) {
      return h("li", {}, name, h("span", { class: "new" }, fieldValue(key, change.new)));
    }
    return h(
      "li",
      {},
      name,
      h("span", { class: "old" }, fieldValue(key, change.old)),
      h("span", { class: "arrow", "aria-hidden": "true" }, " → "),
      h("span", { class: "visually-hidden" }, " becomes "),
      h("span", { class: "new" }, fieldValue(key, change.new)),
    );
  });
}

function changesCell(entry) {
  if (entry.changes && Object.keys(entry.changes).length) return h("ul", { class: "changes" }, changeItems(entry));
  return h("span", { class: "hint" }, entry.result === "failed" ? "Not imported" : "Nothing changes");
}

function resultCell(entry, { people }) {
  return h(
    "div",
    { class: "result-cell" },
    h("span", { class: `badge result-${entry.result}` }, RESULTS[entry.result] || entry.result),
    entry.matched_by ? h("span", { class: "hint" }, MATCHED[entry.matched_by] || entry.matched_by) : null,
    people && entry.contact_id && entry.result !== "failed"
      ? h("a", { href: `#/people/${encodeURIComponent(entry.contact_id)}` }, "Open the person")
      : null,
  );
}

function problemCell(entry) {
  const errors = entry.errors || [];
  const warnings = entry.warnings || [];
  if (!errors.length && !warnings.length) return "—";
  return h(
    "ul",
    { class: "row-problems" },
    errors.map((text) => h("li", { class: "error" }, text)),
    warnings.map((text) => h("li", { class: "warning" }, text)),
  );
}

/**
 * The changes of import `imp`, loaded page by page (`limit` rows a page). `result` picks one
 * result; with `filter`, radios let the user pick it (All, Created, …, each with its count).
 * `people`: link each record to its person (a real import's people exist). Returns the element;
 * it fills itself, and says in it when the API cannot answer.
 */
export function changesView(imp, { limit = 20, result = "", filter = true, people = false, caption } = {}) {
  const path = `/api/imports/${encodeURIComponent(imp.id)}/diff`;
  const counts = resultCounts(imp.counts);
  const slot = h("div", { class: "changes-rows" });
  const status = h("p", { class: "visually-hidden", role: "status" });
  let next = null; // the cursor of the next page
  const moreButton = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => load(next, true) }, `Show ${fmtNumber(limit)} more rows`);
  const problem = h("div");
  const more = h("div", { class: "actions left" }, moreButton, problem);
  let current = result;
  let shown = [];
  let generation = 0; // a filter picked while a page loads makes that page stale

  const describe = () => {
    const of = current ? counts[current] : imp.counts.rows;
    const noun = `${current ? `${RESULTS[current].toLowerCase()} ` : ""}${of === 1 ? "row" : "rows"}`;
    const text =
      shown.length < of ? `the first ${fmtNumber(shown.length)} of ${fmtNumber(of)} ${noun}` : of === 1 ? `1 ${noun}` : `all ${fmtNumber(of)} ${noun}`;
    if (caption) return shown.length < of ? `${caption}: ${text}` : `${caption} (${fmtNumber(of)})`;
    return text.charAt(0).toUpperCase() + text.slice(1);
  };

  const load = async (cursor, asked = false) => {
    const mine = generation;
    clear(problem);
    moreButton.disabled = true;
    try {
      const page = await api("GET", `${path}${query({ result: current, limit, cursor })}`);
      if (mine !== generation) return;
      shown = [...shown, ...page.data];
      clear(slot);
      status.textContent = describe();
      if (!shown.length) {
        slot.append(h("p", { class: "hint" }, current ? `No ${RESULTS[current].toLowerCase()} rows.` : "No rows."));
      } else {
        // Failed rows change nothing: their table has no Changes column.
        const failedOnly = current === "failed";
        slot.append(
          table(
            failedOnly ? ["Row", "Result", "Problems"] : ["Row", "Result", "Changes", "Problems"],
            shown.map((entry) => [
              String(entry.row),
              resultCell(entry, { people }),
              failedOnly ? null : changesCell(entry),
              problemCell(entry),
            ].filter((cell) => cell !== null)),
            { caption: describe() },
          ),
        );
        slot.querySelector(".table-wrap").tabIndex = -1;
      }
      next = page.next_cursor;
      moreButton.hidden = !next;
      // The last page hides the button that asked for it: the focus goes to the rows.
      if (asked && !next) slot.querySelector(".table-wrap")?.focus();
    } catch (error) {
      if (mine !== generation) return;
      problem.append(errorBox(error, "The rows could not be listed"));
    } finally {
      moreButton.disabled = false;
    }
  };

  const pick = (value) => {
    current = value;
    shown = [];
    generation += 1;
    load(null);
  };

  const choices = [["", `All (${fmtNumber(imp.counts.rows)})`], ...Object.entries(RESULTS).map(([key, text]) => [key, `${text} (${fmtNumber(counts[key])})`])];
  const radiosBox = filter
    ? h("fieldset", { class: "inline result-filter" }, h("legend", {}, "Show"), radios(uid("result"), choices, current, pick))
    : null;

  load(null);
  return h("div", { class: "changes-view" }, radiosBox, status, slot, more);
}
