// How an import is going and how it ended, in the page's words. The rules are the API's
// (services/upload/outcomes.py): the outcome, the total or its estimate, the time left and why an
// import waits come with the import, and this module only words them — the badge the history and
// the import's page show, the rows done, the time left, the waiting line and the Cancel button.

import { api } from "./api.js";
import { resultCounts } from "./changes.js";
import { confirmDialog } from "./dialog.js";
import { actionButton, fmtDate, fmtNumber, h } from "./dom.js";

const STATUSES = {
  uploaded: "Uploaded, not started",
  queued: "Queued",
  processing: "Processing",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
  previewed: "Preview",
};
export const RUNNING = ["queued", "processing"];
const ENDED = ["completed", "previewed"];

const plural = (n, one, many) => `${fmtNumber(n)} ${n === 1 ? one : many}`;

/**
 * What an import's badge says, and its tone when the status alone does not give it: "partial"
 * (amber: some records failed) or "bad" (red: every record failed, or the import failed).
 */
export function statusOf(imp) {
  const failed = imp.counts?.failed || 0;
  if (imp.dry_run && RUNNING.includes(imp.status)) return { text: "Previewing", tone: null };
  if (imp.status === "previewed") {
    if (imp.outcome === "failed") return { text: "Preview: every row would fail", tone: "bad" };
    if (imp.outcome === "completed_with_failures") return { text: `Preview: ${fmtNumber(failed)} would fail`, tone: "partial" };
    return { text: "Preview", tone: null };
  }
  if (imp.outcome === "completed_with_failures") return { text: `Completed with ${fmtNumber(failed)} failed`, tone: "partial" };
  if (imp.outcome === "failed") return { text: "Failed", tone: "bad" };
  return { text: STATUSES[imp.status] || imp.status, tone: null };
}

export function statusBadge(imp) {
  const { text, tone } = statusOf(imp);
  return h("span", { class: `badge status-${imp.status}${tone ? ` tone-${tone}` : ""}`, "data-testid": "import-status" }, text);
}

/** 0–100, as far as the import got. */
export function percentOf(imp) {
  return ENDED.includes(imp.status) ? 100 : Math.floor((imp.progress || 0) * 100);
}

/** "40 %", or "about 40 %" while the file's total is only estimated (`value`: the percentage). */
export function percentText(imp, value = percentOf(imp)) {
  const estimated = imp.rows_total == null && imp.rows_estimate && !ENDED.includes(imp.status);
  return `${estimated ? "about " : ""}${value} %`;
}

/** "15,000 of 300,000", or "15,000 of about 300,000" while the total is estimated. */
export function rowsDoneText(imp) {
  const done = fmtNumber(imp.rows_done);
  if (imp.rows_total != null) return `${done} of ${fmtNumber(imp.rows_total)}`;
  if (imp.rows_estimate) return `${done} of about ${fmtNumber(imp.rows_estimate)}`;
  return done;
}

/** "About 3 min left" from the rate so far, or null (not running, or no rate yet). */
export function timeLeft(imp) {
  const seconds = imp.eta_seconds;
  if (seconds == null || !RUNNING.includes(imp.status)) return null;
  if (seconds < 45) return "Less than a minute left";
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) return `About ${minutes} min left`;
  return `About ${Math.floor(minutes / 60)} h ${minutes % 60} min left`;
}

function clock(value) {
  const date = new Date(value);
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }) : fmtDate(value);
}

/**
 * Why a queued or starting import waits (the API's `waiting`), as a sentence with a link to the
 * import it waits for; `nameOf({file_name, source})` names that one ("the import of a.csv").
 * Null when it does not wait.
 */
export function waitingLine(imp, nameOf) {
  const w = imp.waiting;
  if (!w) return null;
  const other = w.import_id
    ? h("a", { href: `#/imports/${encodeURIComponent(w.import_id)}` }, nameOf({ file_name: w.file_name, source: w.source }))
    : null;
  const started = w.queued_at ? `, started at ${clock(w.queued_at)},` : "";
  if (w.reason === "earlier_import") {
    const more = w.ahead > 1 ? ` ${fmtNumber(w.ahead)} imports are ahead of this one.` : "";
    return ["Waiting for ", other, `${started} to finish: the imports of a workspace are applied one after another, in the order they were started.${more}`];
  }
  if (w.reason === "pull_slots") {
    return ["Waiting for a free slot: this workspace's other pulls run first (such as ", other, `${started.replace(/^,|,$/g, "")}). It starts when one of them ends.`];
  }
  if (w.reason === "not_started") {
    return "Waiting to start: a few imports are read at once, and others were started first. It starts on its own.";
  }
  return "Reading the file: its first rows are applied in a moment.";
}

/** What cancelling `imp` does, as the confirmation says it. */
function cancelEffects(imp) {
  if (imp.dry_run) {
    return h(
      "ul",
      { class: "undo-effects" },
      h("li", {}, "The preview stops after the rows it is checking now."),
      h("li", {}, "Nothing was imported. You can still import this file from its page, without the rest of the preview."),
    );
  }
  const c = imp.counts;
  const done = imp.rows_done;
  return h(
    "ul",
    { class: "undo-effects" },
    h("li", { "data-testid": "cancel-stops" }, h("strong", {}, "The import stops after the rows it is applying now"), ": the rest of the file is not imported."),
    h(
      "li",
      { "data-testid": "cancel-keeps" },
      done
        ? `What it did so far stays: ${plural(done, "row", "rows")} (${fmtNumber(c.created)} created, ${fmtNumber(c.updated)} updated, ${fmtNumber(c.failed)} failed), and you can undo it once it has stopped.`
        : "Nothing has been imported yet.",
    ),
    imp.trigger_messages && done ? h("li", {}, "Any message it has sent already stays sent.") : null,
  );
}

/**
 * "Cancel import" (a dry run: "Stop the preview") for a running `imp` called `name` in a
 * sentence: reads it afresh, asks in a dialog (in `parent`), cancels, and gives the cancelled
 * import to `onCancelled`.
 */
export function cancelButton(imp, { name, parent, onCancelled }) {
  const id = encodeURIComponent(imp.id);
  const dry = imp.dry_run;
  const label = dry ? "Stop the preview" : "Cancel import";
  return actionButton(label, {
    failure: "The import could not be read",
    work: async () => {
      const fresh = await api("GET", `/api/imports/${id}`);
      return async (button) => {
        const cancelled = await confirmDialog({
          title: dry ? `Stop the preview of ${name}?` : `Cancel ${name}?`,
          body: cancelEffects(fresh),
          confirm: label,
          cancel: dry ? "Keep checking" : "Keep importing",
          busy: "Stopping…",
          failure: "The import could not be cancelled",
          danger: !dry,
          parent,
          opener: button,
          run: () => api("POST", `/api/imports/${id}/cancel`),
        });
        if (cancelled) onCancelled(cancelled);
      };
    },
  });
}

/**
 * How an import that ended went, in one sentence: "Import completed with 2 failed rows: 3
 * created, …", "Import cancelled: 1,200 rows were processed before it stopped (…); 8,800 rows
 * were not processed."
 */
export function outcomeSentence(imp) {
  const c = imp.counts;
  const shown = resultCounts(c);
  const dry = imp.dry_run;
  const tally = `${fmtNumber(shown.created)} created, ${fmtNumber(shown.updated)} updated, ${shown.unchanged ? `${fmtNumber(shown.unchanged)} unchanged, ` : ""}${fmtNumber(shown.failed)} failed`;
  const rows = (n) => `${fmtNumber(n)} ${n === 1 ? "row" : "rows"}`;
  if (imp.status === "cancelled" || imp.status === "failed") {
    const cancelled = imp.status === "cancelled";
    const stop = cancelled ? (dry ? "Preview stopped" : "Import cancelled") : dry ? "Preview failed" : "Import failed";
    if (!c.rows) return cancelled ? `${stop} before any row was ${dry ? "checked" : "processed"}.` : `${stop}: nothing was imported.`;
    const done = `${rows(c.rows)} ${c.rows === 1 ? "was" : "were"} ${dry ? "checked" : "processed"} before it stopped (${tally})`;
    const rest =
      imp.rows_not_processed != null
        ? `${rows(imp.rows_not_processed)} ${imp.rows_not_processed === 1 ? "was" : "were"} not processed`
        : imp.rows_estimate && imp.rows_estimate > c.rows
          ? `the rest of the file (about ${rows(imp.rows_estimate - c.rows)}) was not processed`
          : "the rest was not processed";
    return `${stop}: ${done}; ${rest}.`;
  }
  const out = `out of ${rows(c.rows)}`;
  if (imp.outcome === "failed") {
    return `Import failed: none of the ${rows(c.rows)} could be imported (${tally}).`;
  }
  if (imp.outcome === "completed_with_failures") {
    const failed = `${fmtNumber(c.failed)} failed ${c.failed === 1 ? "row" : "rows"}`;
    return `Import completed with ${failed}: ${tally}, ${out}. Nothing from a failed row was imported.`;
  }
  return `Import completed: ${tally}, ${out}.`;
}
