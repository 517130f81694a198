// What an import would do (a dry run's preview) or did: its results, its problems grouped by
// cause with their fix, how many values of each field it sets, changes or clears, and the live
// messages it would send (SPEC §6.1, §6.2). Shared by the wizard's review step and an import's
// page; the wizard adds the controls (suppress switches, "fix it" buttons) through options.

import { api, download } from "./api.js";
import { changesView, fieldLabel, fieldOrder, resultCounts } from "./changes.js";
import { actionButton, append, clear, errorBox, fmtNumber, h, table } from "./dom.js";

const plural = (n, one, many) => `${fmtNumber(n)} ${n === 1 ? one : many}`;

/** The results as stats (created, updated, unchanged, failed, adding up to the rows). */
export function resultStats(imp, { testPrefix = "summary" } = {}) {
  const c = resultCounts(imp.counts);
  const stat = (key, text, n) =>
    h("div", { class: `stat stat-${key}${n ? "" : " zero"}` }, h("dt", {}, text), h("dd", { "data-testid": `${testPrefix}-${key}` }, fmtNumber(n)));
  return h(
    "dl",
    { class: "stats result-stats" },
    stat("rows", "Rows", imp.counts.rows),
    stat("created", "Created", c.created),
    stat("updated", "Updated", c.updated),
    stat("unchanged", "Unchanged", c.unchanged),
    stat("failed", "Failed", c.failed),
    imp.counts.warnings ? stat("warnings", "Imported without a value", imp.counts.warnings) : null,
  );
}

/** One sentence of the results: "1 person would be created, 3 updated, …". */
export function resultSentence(imp) {
  const c = resultCounts(imp.counts);
  const dry = imp.dry_run;
  const created = `${plural(c.created, "person", "people")} ${dry ? "would be" : c.created === 1 ? "was" : "were"} created`;
  const parts = [created, `${fmtNumber(c.updated)} updated`, c.unchanged ? `${fmtNumber(c.unchanged)} matched with nothing to change` : null];
  const failed = c.failed
    ? ` ${plural(c.failed, "row", "rows")} ${dry ? "would fail" : "failed"}: nothing from ${c.failed === 1 ? "it" : "them"} ${dry ? "would be" : "was"} imported.`
    : "";
  const warned = imp.counts.warnings
    ? ` ${plural(imp.counts.warnings, "person", "people")} ${dry ? "would be" : imp.counts.warnings === 1 ? "was" : "were"} imported without an invalid value.`
    : "";
  return `${parts.filter(Boolean).join(", ")}, out of ${plural(imp.counts.rows, "row", "rows")}.${failed}${warned}`;
}

// The server's fixes name its API options in brackets ("(default_country)") and its fields by
// their API names; the page offers its own controls next to the fix, and says "User ID".
const API_OPTION = / \([a-z_]+(?:: "[a-z_]+")?\)/g;

/** A fix as a user reads it: without the API option names. */
export function plainFix(fix) {
  return fix ? fix.replace(API_OPTION, "").replace(/\buser_id\b/g, "User ID") : "";
}

// The API's words in a record's error, and what the page calls the same thing.
const API_WORDS = [
  [/\bset default_country\b/g, "choose the default country for phone numbers (step Tag and confirm)"],
  [/\bdefault_country\b/g, "the default country"],
  [/\bdate_order\b/g, "the date order"],
  [/\buser_id\b/g, "User ID"],
];

/** A record's error as a user reads it: the page's words for the API's options and fields. */
export function plainError(text) {
  return API_WORDS.reduce((out, [word, plain]) => out.replace(word, plain), String(text));
}

/** "Rows 2, 4, 6 and 117 more", "Row 5": the example rows of a cause with `n` records. */
function rowsOf(rows, n) {
  if (rows.length === 1 && n === 1) return `Row ${rows[0]}.`;
  const more = n - rows.length;
  return `${rows.length === 1 ? "Row" : "Rows"} ${rows.join(", ")}${more > 0 ? ` and ${fmtNumber(more)} more` : ""}.`;
}

/**
 * The problems grouped by cause, errors (their rows fail) before warnings (the rows were
 * applied without a value): a summary's (`count`, `first_row`) or the errors summary's
 * (`rows`, `example_rows`, `example`). `action(problem)` may return a button that fixes it
 * (the wizard's).
 */
export function problemList(problems, { action } = {}) {
  const ordered = [...problems.filter((p) => p.level === "error"), ...problems.filter((p) => p.level !== "error")];
  return h(
    "ul",
    { class: "problems" },
    ordered.map((p) => {
      const error = p.level === "error";
      const fix = plainFix(p.fix);
      const n = p.rows ?? p.count;
      const where = p.example_rows
        ? rowsOf(p.example_rows, n)
        : n > 1
          ? `The first is row ${p.first_row}.`
          : `Row ${p.first_row}.`;
      return h(
        "li",
        { class: `problem ${error ? "error" : "warning"}`, "data-cause": p.cause },
        h(
          "p",
          { class: "problem-head" },
          h("span", { class: `badge level-${error ? "error" : "warning"}` }, error ? "Not imported" : "Warning"),
          " ",
          h("strong", {}, p.message),
        ),
        h("p", { class: "hint problem-rows" }, where),
        p.example && p.example_rows?.length ? h("p", { class: "problem-example" }, `Row ${p.example_rows[0]}: ${plainError(p.example)}`) : null,
        fix ? h("p", { class: "fix" }, h("span", { class: "fix-label" }, "How to fix: "), fix.charAt(0).toUpperCase() + fix.slice(1), ".") : null,
        action ? action(p) : null,
      );
    }),
  );
}

/** What the row numbers of an import's reports count, in a sentence. */
export function rowNumbers(imp) {
  if (["csv", "mailchimp_csv"].includes(imp.source)) {
    return "Row numbers count the rows under the header: row 1 is the first one, which is row 2 in a spreadsheet. Empty rows are not counted.";
  }
  return "Row numbers count the records in the order they came, from 1.";
}

/**
 * An import's failed records (and values left out) grouped by cause, with their rows
 * (GET /api/imports/{id}/errors/summary): a heading, what row numbers mean and the list, loaded
 * into the returned nodes.
 */
export function causesSection(imp) {
  const slot = h("div", { class: "causes", "aria-live": "polite" }, h("p", { class: "hint" }, "Counting the problems by cause…"));
  api("GET", `/api/imports/${encodeURIComponent(imp.id)}/errors/summary`)
    .then((groups) => clear(slot).append(groups.length ? problemList(groups) : h("p", { class: "hint" }, "No problem was recorded.")))
    .catch((error) => clear(slot).append(errorBox(error, "The problems could not be counted by cause")));
  const failed = imp.counts.failed;
  const heading = failed ? (imp.dry_run ? "Why rows would fail" : "Why rows failed") : "Values left out";
  return [h("h3", {}, heading), h("p", { class: "hint", "data-testid": "row-numbers" }, rowNumbers(imp)), slot];
}

/** Per field: how many values the import fills in, changes and clears. */
export function fieldTable(fields, { dryRun }) {
  const keys = Object.keys(fields).sort(fieldOrder);
  const cell = (n, cls) => h("span", { class: n ? cls : "zero" }, fmtNumber(n));
  const clearedSome = keys.some((k) => fields[k].cleared);
  return h(
    "div",
    { class: "field-counts" },
    table(
      ["Field", "Filled in", "Changed", "Cleared"],
      keys.map((key) => [
        fieldLabel(key),
        cell(fields[key].set, "set"),
        cell(fields[key].changed, "changed"),
        cell(fields[key].cleared, "cleared"),
      ]),
      { caption: dryRun ? "Values each field would get" : "Values each field got", cards: false },
    ),
    h(
      "p",
      { class: "hint" },
      "Filled in: the person had no value. Changed: another value replaces theirs. Cleared: a blank cell empties it",
      clearedSome ? " (the option Blank cells, under More options, can keep the current values instead)" : "",
      ".",
    ),
  );
}

/**
 * The live auto messages and how many people each would reach (a dry run) or reached. With
 * `onToggle(messageId, send)` each gets a switch; `sending(messageId)` says the switch's state.
 */
export function messageReach(imp, { onToggle, sending } = {}) {
  const messages = imp.summary?.messages || [];
  const dry = imp.dry_run;
  if (!imp.trigger_messages) {
    return h("p", { class: "hint" }, `“Trigger live messages” ${dry ? "is" : "was"} off for this import: it ${dry ? "sends" : "sent"} nothing.`);
  }
  if (!messages.length) {
    return h("p", { class: "hint" }, dry ? "No auto message is live, so this import sends nothing." : "No auto message was live, so this import sent nothing.");
  }
  const reach = (m) =>
    m.suppressed
      ? `Suppressed: ${dry ? "sends" : "sent"} to nobody in this import. These people can still get it when they change later.`
      : dry
        ? `Would reach ${plural(m.deliveries, "person", "people")}.`
        : `Reached ${plural(m.deliveries, "person", "people")} so far.`;
  return h(
    "ul",
    { class: "message-reach" },
    messages.map((m) => {
      const link = h("a", { href: `#/messages/${encodeURIComponent(m.message_id)}` }, m.name);
      const count = h("span", { class: "reach", "data-testid": `reach-${m.message_id}` }, reach(m));
      if (!onToggle) {
        return h("li", { class: m.suppressed ? "suppressed" : "" }, h("span", { class: "message-name" }, link), count);
      }
      // The switch may say otherwise than the preview did (switched since): the line says both.
      const said = (send) => {
        if (send !== m.suppressed) return reach(m);
        if (!send) return `Switched off: it will not be sent to anyone in this import (the preview counted ${plural(m.deliveries, "person", "people")}).`;
        return "Switched on: update the preview to count the people it would reach.";
      };
      const id = `send-${m.message_id}`;
      const item = h("li");
      const toggle = h("input", {
        type: "checkbox",
        role: "switch",
        id,
        checked: sending(m.message_id),
        "aria-describedby": `${id}-reach`,
        onchange: () => {
          count.textContent = said(toggle.checked);
          item.classList.toggle("suppressed", !toggle.checked);
          onToggle(m.message_id, toggle.checked);
        },
      });
      count.id = `${id}-reach`;
      count.textContent = said(toggle.checked);
      item.classList.toggle("suppressed", !toggle.checked);
      return append(
        item,
        [
          h("div", { class: "switch-field" }, toggle, h("label", { for: id }, `Send “${m.name}”`)),
          count,
          h("span", { class: "hint" }, link, " (opens the message)"),
        ],
      );
    }),
  );
}

/**
 * The summary's problems, messages and fields, each under its heading (those it has), in a div;
 * without the problems with `problems: false` (an import's page lists them with their rows).
 */
export function summarySections(imp, { action, messages, problems = true } = {}) {
  const s = imp.summary;
  if (!s) return null;
  return h(
    "div",
    { class: "summary-sections" },
    problems && s.problems.length ? [h("h3", {}, "Problems, by cause"), problemList(s.problems, { action })] : null,
    h("h3", {}, imp.dry_run ? "Messages it would send" : "Messages it sent"),
    messages || messageReach(imp),
    Object.keys(s.fields).length ? [h("h3", {}, "Fields"), fieldTable(s.fields, { dryRun: imp.dry_run })] : null,
  );
}

/**
 * A finished dry run as its preview shows it: the results, the summary's sections, the rows
 * that would fail and a sample of the rows with their changes. `action` and `messages` as for
 * summarySections. One div.
 */
export function previewSections(imp, options = {}) {
  return h(
    "div",
    { class: "preview-sections" },
    resultStats(imp, { testPrefix: "preview" }),
    h("p", { class: "done-line" }, resultSentence(imp)),
    summarySections(imp, options),
    imp.counts.failed
      ? [
          h("h3", {}, "Rows that would fail"),
          changesView(imp, { result: "failed", filter: false, limit: 10, caption: "Rows that would fail" }),
          errorReportButton(imp, "Download them with their values (CSV)"),
        ]
      : null,
    h("h3", {}, "Row by row"),
    changesView(imp, { limit: 20 }),
  );
}

/**
 * A button that downloads the import's error report (CSV), with its failure said beside it;
 * `primary` when it is the page's main action (after a partly or fully failed import).
 */
export function errorReportButton(imp, label = "Download error report (CSV)", ariaLabel = null, { primary = false } = {}) {
  return actionButton(label, {
    ariaLabel,
    primary,
    failure: "The error report could not be downloaded",
    work: () => download(`/api/imports/${encodeURIComponent(imp.id)}/errors`, `errors-${imp.id}.csv`),
  });
}

