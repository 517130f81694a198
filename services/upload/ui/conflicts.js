// The conflict queue (SPEC §6.4): rows an import could not place because their email belongs
// to more than one person. Each shows the row's values beside each candidate's, the differing
// ones marked, and three ways out: apply the row to a candidate, make a new person of it, or
// dismiss it. A resolved conflict leaves the list with a status message saying what was done.

import { api, query } from "./api.js";
import { fieldLabel, fieldOrder, fieldValue } from "./changes.js";
import { clear, errorBox, fmtDate, fmtNumber, h, uid } from "./dom.js";
import { importLabel } from "./imports.js";
import { meta } from "./meta.js";

const PAGE = 20;
const COUNT_LIMIT = 100;

/** How many conflicts are open (at most COUNT_LIMIT): `{count, more}`, for the navigation. */
export async function openConflicts() {
  const page = await api("GET", `/api/conflicts${query({ limit: COUNT_LIMIT })}`);
  return { count: page.data.length, more: Boolean(page.next_cursor) };
}

/** Tell the navigation that the open conflicts changed. */
function changed() {
  window.dispatchEvent(new CustomEvent("usher:conflicts"));
}

function personName(p) {
  return p.name || p.email || p.user_id || p.id;
}

/** The row's values as [field key, value]: custom attributes as "custom.<name>". */
function recordFields(record) {
  const pairs = [];
  for (const [key, v] of Object.entries(record)) {
    if (key.startsWith("_")) continue;
    if (key === "custom_attributes" && v && typeof v === "object") {
      for (const [name, value] of Object.entries(v)) pairs.push([`custom.${name}`, value]);
    } else {
      pairs.push([key, v]);
    }
  }
  return pairs.sort(([a], [b]) => fieldOrder(a, b));
}

function valueOf(contact, key) {
  if (key.startsWith("custom.")) return contact.custom_attributes?.[key.slice("custom.".length)];
  return contact[key];
}

const blank = (v) => v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length);

/** Whether the candidate's value is the row's (dates compared as instants, tags as "has them"). */
function same(key, rowValue, value) {
  if (blank(rowValue) || blank(value)) return blank(rowValue) && blank(value);
  if (key === "tags") return [].concat(rowValue).every((t) => (value || []).some((v) => v.toLowerCase() === String(t).toLowerCase()));
  // The same address whatever its case (the identity rules compare emails so).
  if (key === "email") return String(rowValue).toLowerCase() === String(value).toLowerCase();
  const date = meta.fields.find((f) => f.name === key)?.kind === "date";
  if (date) return new Date(rowValue).getTime() === new Date(value).getTime();
  return typeof rowValue === "object" ? JSON.stringify(rowValue) === JSON.stringify(value) : String(rowValue) === String(value);
}

function shown(key, v) {
  if (Array.isArray(v)) return v.length ? v.join(", ") : fieldValue(key, null);
  return fieldValue(key, v);
}

function definitions(pairs) {
  return h(
    "dl",
    { class: "fields compare-fields" },
    pairs.map(([term, value, cls]) => h("div", { class: cls || null }, h("dt", {}, term), h("dd", {}, value))),
  );
}

/** One candidate: its values for the row's fields (the differing marked), who it is, the button. */
function candidateCard(contact, n, fields, choose) {
  const name = personName(contact);
  const compared = fields.map(([key, rowValue]) => {
    const value = valueOf(contact, key);
    if (same(key, rowValue, value)) return [fieldLabel(key), shown(key, value)];
    return [
      fieldLabel(key),
      [
        shown(key, value),
        // Beside the row's column on a wide screen; under the value when the cards stack.
        h("span", { class: "row-value" }, " (the row has ", shown(key, rowValue), ")"),
      ],
      "differs",
    ];
  });
  const identity = [
    ["User ID", contact.user_id || "—"],
    ["Role", contact.role === "lead" ? "Lead" : "User"],
    ["Tags", contact.tags?.length ? contact.tags.join(", ") : "—"],
    ["Created in Usher", fmtDate(contact.created_at)],
  ].filter(([term]) => !fields.some(([key]) => fieldLabel(key) === term));
  return h(
    "div",
    { class: "compare-col candidate", "data-testid": `candidate-${contact.id}` },
    h("h3", {}, `Candidate ${n}: ${name}`),
    definitions(compared),
    definitions(identity),
    h("p", { class: "compare-open" }, h("a", { href: `#/people/${encodeURIComponent(contact.id)}`, "aria-label": `Open ${name}'s page (candidate ${n})` }, "Open their page")),
    h("button", { type: "button", onclick: (event) => choose(contact, event.currentTarget) }, `Apply the row to ${name}`),
  );
}

/**
 * One open conflict as a card. `imp` is its import (null when unknown). `done(card, message)`
 * runs when it is resolved, with what to say.
 */
function conflictCard(conflict, imp, done) {
  const headingId = uid("conflict");
  const rowName = `Row ${conflict.row} of ${imp ? importLabel(imp) : "an import"}`;
  const fields = recordFields(conflict.record);
  const email = conflict.record.email;
  const problem = h("div", { "aria-live": "assertive" });
  const card = h("section", { class: "card conflict", "aria-labelledby": headingId, "data-testid": `conflict-${conflict.id}` });
  const buttons = () => [...card.querySelectorAll("button")];

  const resolve = async (body, button, say) => {
    clear(problem);
    for (const b of buttons()) b.disabled = true;
    try {
      const resolved = await api("POST", `/api/conflicts/${encodeURIComponent(conflict.id)}/resolve`, body);
      done(card, say(resolved));
    } catch (error) {
      problem.append(errorBox(error, `${rowName} could not be resolved`));
      // Resolved already (elsewhere): nothing is left to choose here.
      if (error.status !== 409) {
        for (const b of buttons()) b.disabled = false;
        button.focus();
      }
    }
  };
  const personLink = (id, text) => h("a", { href: `#/people/${encodeURIComponent(id)}` }, text);
  const choose = (contact, button) =>
    resolve({ contact_id: contact.id }, button, (r) => [`${rowName} was applied to ${personName(contact)}. `, personLink(r.resolution.contact_id, `Open ${personName(contact)}`)]);
  const create = (event) =>
    resolve({ action: "create" }, event.currentTarget, (r) => [`${rowName} is now a new person. `, personLink(r.resolution.contact_id, "Open the new person")]);
  const dismiss = (event) => resolve({ action: "dismiss" }, event.currentTarget, () => `${rowName} was dismissed: nothing was changed.`);

  const tagged = imp?.tag ? ` Applied or created, the person also gets the import's tag “${imp.tag}”.` : "";
  card.append(
    h(
      "div",
      { class: "page-head" },
      h("h2", { id: headingId, tabindex: "-1" }, rowName),
      imp ? h("a", { href: `#/imports/${encodeURIComponent(imp.id)}`, "aria-label": `Open the import of ${rowName.replace(/^Row/, "row")}` }, "Open the import") : null,
    ),
    h(
      "p",
      {},
      `${email ? `${email} belongs to` : "The row's email belongs to"} ${fmtNumber(conflict.candidates.length)} ${conflict.candidates.length === 1 ? "person" : "people"}, so the import could not tell who this row is, and imported nothing from it. Choose the person it is, make a new person of it, or dismiss it.${tagged}`,
    ),
    h("p", { class: "hint" }, "Marked: the candidate's value differs from the row's. Applying the row to a candidate gives them the row's values."),
    h(
      "div",
      { class: "compare" },
      h(
        "div",
        { class: "compare-col record", "data-testid": "conflict-record" },
        h("h3", {}, "The row"),
        definitions(fields.map(([key, v]) => [fieldLabel(key), shown(key, v)])),
        h("p", { class: "hint" }, `Received ${fmtDate(conflict.created_at)}`),
      ),
      conflict.candidates.map((contact, i) => candidateCard(contact, i + 1, fields, choose)),
    ),
    h(
      "div",
      { class: "actions left" },
      h("button", { type: "button", class: "secondary", onclick: create }, "Create a new person from the row"),
      h("button", { type: "button", class: "secondary", onclick: dismiss }, "Dismiss the row"),
    ),
    problem,
  );
  if (!conflict.candidates.length) {
    card.querySelector(".compare").append(h("p", { class: "hint" }, "The people who shared the email are gone: create a new person or dismiss the row."));
  }
  return card;
}

export async function conflictList(ctx) {
  const heading = h("h1", { tabindex: "-1" }, "Conflicts");
  const status = h("div", { role: "status", class: "status-slot" });
  const count = h("p", { class: "result-count", "data-testid": "conflict-count" });
  const list = h("div", { class: "conflicts" });
  const more = h("div", { class: "actions left" });
  ctx.main.append(
    heading,
    h("p", { class: "hint intro" }, "Rows an import could not place: their email belongs to more than one person. Nothing from them was imported until you decide."),
    status,
    count,
    list,
    more,
  );
  const imports = new Map(); // import id -> the import (or null), read once each
  let next = null;

  const say = () => {
    const n = list.querySelectorAll("section.conflict").length;
    count.textContent = n
      ? `${fmtNumber(n)}${next ? "+" : ""} open ${n === 1 && !next ? "conflict" : "conflicts"}, oldest first`
      : "No open conflicts: every row an import could not place has been dealt with.";
  };

  const done = (card, message) => {
    const following = card.nextElementSibling || card.previousElementSibling;
    card.remove();
    clear(status).append(h("div", { class: "alert info" }, message));
    say();
    changed();
    // The focus goes on to the next conflict, or back to the page when none is left.
    (following?.querySelector("h2") || heading).focus();
  };

  const load = async (cursor) => {
    const page = await api("GET", `/api/conflicts${query({ limit: PAGE, cursor })}`);
    const ids = [...new Set(page.data.map((c) => c.import_id))].filter((id) => !imports.has(id));
    await Promise.all(
      ids.map((id) =>
        api("GET", `/api/imports/${encodeURIComponent(id)}`)
          .then((imp) => imports.set(id, imp))
          .catch(() => imports.set(id, null)),
      ),
    );
    for (const conflict of page.data) list.append(conflictCard(conflict, imports.get(conflict.import_id), done));
    next = page.next_cursor;
    say();
    clear(more);
    if (next) {
      more.append(
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => load(next).catch((error) => more.append(errorBox(error))) },
          `Show ${PAGE} more`,
        ),
      );
    }
  };
  await load(null);
}
