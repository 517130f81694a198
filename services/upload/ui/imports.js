// One import's live progress and summary (with the error report), a dry run's preview with the
// way to import it, an undo's progress and result, and an import's changes row by row. The
// history is in history.js.

import { api, query } from "./api.js";
import { changesView, resultCounts } from "./changes.js";
import { actionButton, append, clear, errorBox, fmtDate, fmtNumber, h, notice, table } from "./dom.js";
import { feedDay, feedLinks, feedOf, feedTitle } from "./feeds.js";
import { RUNNING, cancelButton, outcomeSentence, percentOf, percentText, rowsDoneText, statusBadge, statusOf, timeLeft, waitingLine } from "./outcome.js";
import { causesSection, errorReportButton, plainError, previewSections, resultSentence, summarySections } from "./summary.js";
import { canUndo, undoButton, undoResult, undoStats } from "./undo.js";

export { statusBadge } from "./outcome.js";

const SOURCES = {
  csv: "CSV",
  mailchimp: "MailChimp",
  mailchimp_csv: "MailChimp export",
  mixpanel: "Mixpanel",
  mixpanel_file: "Mixpanel export",
  api: "API",
  segment: "Segment (API)",
  undo: "Undo",
};
const FINISHED = ["completed", "failed", "cancelled", "uploaded", "previewed"];
const POLL_MS = 700;

export function sourceName(source) {
  return SOURCES[source] || source;
}

/**
 * Follow import `id` until it is finished: `onState(imp)` gets every state read, `onError(error)`
 * every failed read (polling goes on, except after a 404). Stops when `isStopped()` says so.
 * Resolves to the finished import, or null when it stopped first.
 */
export async function watchImport(id, { onState, onError, isStopped }) {
  const path = `/api/imports/${encodeURIComponent(id)}`;
  while (!isStopped()) {
    try {
      const imp = await api("GET", path);
      if (isStopped()) return null;
      onState(imp);
      if (FINISHED.includes(imp.status)) return imp;
    } catch (error) {
      if (isStopped()) return null;
      onError(error);
      if (error.status === 404) return null;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return null;
}

function duration(start, end) {
  const seconds = Math.max(0, (new Date(end) - new Date(start)) / 1000);
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** An import in a heading or a list: its file ("people.csv"), else "the Mixpanel import". */
export function importLabel(imp) {
  if (feedOf(imp)) return feedTitle(imp);
  return imp.file_name || `the ${sourceName(imp.source)} import`;
}

/** An import in a sentence: "the import of people.csv", "the Mixpanel import". */
export function importName(imp) {
  if (feedOf(imp)) return `the ${feedTitle(imp)} entry`;
  return imp.file_name ? `the import of ${imp.file_name}` : `the ${sourceName(imp.source)} import`;
}

/** An undo as the history and its page call it: "Undo of people.csv". */
export function undoTitle(original) {
  return original ? `Undo of ${importLabel(original)}` : "Undo of an import";
}

function title(imp) {
  if (feedOf(imp)) return feedTitle(imp);
  if (imp.dry_run) return imp.file_name ? `Preview of the import of ${imp.file_name}` : `Preview of the ${sourceName(imp.source)} import`;
  return imp.file_name ? `Import of ${imp.file_name}` : `${sourceName(imp.source)} import`;
}

/** An import's counts for its progress card: items for a <dl class="stats"> and `draw(imp)`. */
function importStats() {
  const rowsDone = h("dd", { "data-testid": "rows-done" });
  const created = h("dd", { "data-testid": "count-created" });
  const updated = h("dd", { "data-testid": "count-updated" });
  const unchanged = h("dd", { "data-testid": "count-unchanged" });
  const failed = h("dd", { "data-testid": "count-failed" });
  const speed = h("dd", { "data-testid": "rows-per-second" });
  const tag = h("dd");
  return {
    items: [
      h("div", {}, h("dt", {}, "Rows done"), rowsDone),
      h("div", {}, h("dt", {}, "Created"), created),
      h("div", {}, h("dt", {}, "Updated"), updated),
      h("div", {}, h("dt", {}, "Unchanged"), unchanged),
      h("div", {}, h("dt", {}, "Failed"), failed),
      h("div", {}, h("dt", {}, "Speed"), speed),
      h("div", {}, h("dt", {}, "Tag"), tag),
    ],
    draw(imp) {
      const shown = resultCounts(imp.counts);
      rowsDone.textContent = rowsDoneText(imp);
      created.textContent = fmtNumber(shown.created);
      updated.textContent = fmtNumber(shown.updated);
      unchanged.textContent = fmtNumber(shown.unchanged);
      failed.textContent = fmtNumber(shown.failed);
      // A speed means something over thousands of rows, not over five (the UI review's P14).
      speed.textContent = imp.rows_per_second != null && imp.counts.rows >= 1000 ? `${fmtNumber(imp.rows_per_second)} rows/s` : "—";
      tag.textContent = imp.tag || "—";
    },
  };
}

/**
 * An API's day entry: its counts, what it is, and the way to its messages (it has no file, no
 * changes and no error report, and cannot be undone).
 */
function feedEntry(ctx, imp) {
  const feed = feedOf(imp);
  const c = resultCounts(imp.counts);
  const stat = (label, value, key) => h("div", {}, h("dt", {}, label), h("dd", { "data-testid": `count-${key}` }, fmtNumber(value)));
  ctx.main.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/imports" }, "Import history")),
    h("div", { class: "page-head" }, h("h1", {}, title(imp)), statusBadge(imp)),
    h(
      "section",
      { class: "card" },
      h("dl", { class: "stats" }, stat("Created", c.created, "created"), stat("Updated", c.updated, "updated"), stat("Failed", c.failed, "failed")),
    ),
    notice(
      `This entry counts the people that the identifies from ${feed.what} created, updated or could not write on ${feedDay(imp)} (UTC), as they arrive: one entry a day. Messages sent through the API keep no file and no list of changes, and cannot be undone.`,
    ),
    h("p", { class: "actions left" }, feedLinks(imp, { button: true })),
  );
}

export async function importProgress(ctx) {
  const [id] = ctx.params;
  const path = `/api/imports/${encodeURIComponent(id)}`;
  // An undo shows other counts, and is named after the import it undid.
  const first = await api("GET", path);
  if (feedOf(first)) {
    feedEntry(ctx, first);
    return;
  }
  const undo = first.source === "undo";
  const original = undo
    ? await api("GET", `/api/imports/${encodeURIComponent(first.undo_of)}`).catch(() => null)
    : null;
  const heading = h("h1", {}, "Import");
  const badge = h("span");
  const bar = h("progress", { id: "import-progress", max: "100", value: "0" });
  const barLabel = h("label", { for: "import-progress" }, "Progress");
  const percent = h("span", { class: "percent", "data-testid": "progress-percent" }, "0 %");
  const stats = undo ? undoStats() : importStats();
  const timing = h("dd");
  // The time left and why it waits: read by screen readers when they change, not at every poll.
  const note = h("div", { class: "progress-note", "aria-live": "polite" });
  const controls = h("div", { class: "actions left progress-actions" });
  const summary = h("section", { class: "summary-box", "aria-live": "polite" });
  const problem = h("div", { "aria-live": "assertive" });
  const progressCard = h(
    "section",
    { class: "card" },
    h("div", { class: "progress-line" }, barLabel, bar, percent),
    note,
    h("dl", { class: "stats" }, stats.items, h("div", {}, h("dt", {}, "Duration"), timing)),
    controls,
  );
  let stopped = false;
  ctx.onLeave(() => {
    stopped = true;
  });

  append(ctx.main, [
    original ? h("p", { class: "crumbs" }, h("a", { href: `#/imports/${encodeURIComponent(original.id)}` }, title(original))) : null,
    h("div", { class: "page-head" }, heading, badge),
    progressCard,
    problem,
    summary,
  ]);

  const said = { key: null };
  const drawNote = (imp) => {
    const why = waitingLine(imp, importName);
    const left = timeLeft(imp);
    const key = JSON.stringify([imp.waiting, left]);
    if (key === said.key) return;
    said.key = key;
    clear(note);
    if (why) note.append(h("p", { class: "waiting", "data-testid": "waiting" }, why));
    if (left) note.append(h("p", { class: "time-left", "data-testid": "time-left" }, left));
  };

  // Cancel, while it runs (an undo runs to its end): made once, so the focus stays on it.
  const drawControls = (imp) => {
    const running = !undo && RUNNING.includes(imp.status);
    if (!running) {
      clear(controls);
      return;
    }
    if (controls.firstChild) return;
    controls.append(
      cancelButton(imp, {
        name: importName(imp),
        parent: ctx.main,
        onCancelled: (cancelled) => {
          clear(controls);
          draw(cancelled);
        },
      }),
    );
  };

  let shownPercent = 0;
  const draw = (imp) => {
    heading.textContent = undo ? undoTitle(original) : title(imp);
    clear(badge).append(statusBadge(imp));
    barLabel.textContent = imp.dry_run ? "Checking the rows" : undo ? "Undoing" : "Progress";
    // While it runs on an estimated total the percentage shown never goes back: the estimate
    // can rise by a little as the file is read (services/upload/outcomes.py).
    const value = RUNNING.includes(imp.status) ? Math.max(percentOf(imp), shownPercent) : percentOf(imp);
    shownPercent = value;
    const text = percentText(imp, value);
    const { tone } = statusOf(imp);
    bar.className = imp.status === "cancelled" ? "tone-cancelled" : tone ? `tone-${tone}` : "";
    bar.value = value;
    bar.setAttribute("aria-valuetext", text.replace("%", "percent"));
    percent.textContent = text;
    stats.draw(imp);
    drawNote(imp);
    drawControls(imp);
    timing.textContent = imp.started_at
      ? `${duration(imp.started_at, imp.finished_at || new Date())}${imp.finished_at ? "" : " so far"}`
      : "not started";
  };
  draw(first);

  // The first failed rows with their values, folded: the causes above say what went wrong, and
  // on a phone 20 rows as cards are screens long.
  const failedRows = (imp) => {
    const c = imp.counts;
    const table_ = h("div", {}, h("p", { class: "hint" }, "Loading the failed rows…"));
    const folded = h(
      "details",
      { class: "failed-rows" },
      h("summary", {}, `See the first failed rows with their values (${fmtNumber(Math.min(c.failed, 20))} of ${fmtNumber(c.failed)})`),
      table_,
    );
    let loaded = false;
    folded.addEventListener("toggle", async () => {
      if (!folded.open || loaded) return;
      loaded = true;
      try {
        const report = await api("GET", `${path}/errors?format=json&limit=20`);
        const shown = report.data.filter((e) => e.errors.length);
        clear(table_).append(
          table(
            ["Row", "Errors", "Values"],
            shown.map((e) => [
              String(e.row),
              h("ul", {}, e.errors.map((text) => h("li", {}, plainError(text)))),
              Object.entries(e.values)
                .map(([k, v]) => `${k}: ${v}`)
                .join(" · "),
            ]),
            { caption: c.failed > shown.length ? `The first ${shown.length} of ${fmtNumber(c.failed)} failed rows` : "Failed rows" },
          ),
        );
      } catch (error) {
        loaded = false;
        clear(table_).append(errorBox(error, "The failed rows could not be listed"));
      }
    });
    return folded;
  };

  // Start the import from a preview (a dry run that ended, or was stopped).
  const commitButton = (result) => {
    const commit = h(
      "button",
      {
        type: "button",
        onclick: async () => {
          commit.disabled = true;
          clear(result);
          try {
            await api("POST", `${path}/start`);
            ctx.navigate(`/imports/${encodeURIComponent(id)}`);
          } catch (error) {
            result.append(errorBox(error, "The import did not start"));
            commit.disabled = false;
          }
        },
      },
      "Import",
    );
    return commit;
  };

  // A dry run's result: what importing would do, and the button that imports it.
  const previewed = (imp) => {
    progressCard.hidden = true;
    const result = h("div", { "aria-live": "polite" });
    summary.append(
      h("h2", {}, "What this import would do"),
      notice("Nothing has been imported yet. Import applies this file with the options of this preview, to the workspace as it is then."),
      previewSections(imp),
      result,
      h("div", { class: "actions sticky" }, h("a", { class: "button secondary", href: "#/imports" }, "Import history"), commitButton(result)),
    );
  };

  // An upload never started: when it goes, and the way to delete it now.
  const uploaded = (imp) => {
    progressCard.hidden = true;
    const deleting = actionButton("Delete the upload", {
      failure: "The upload could not be deleted",
      work: async () => {
        await api("DELETE", path);
        ctx.navigate("/imports");
      },
    });
    summary.append(
      notice(
        `This file was uploaded but the import was never started. It is deleted on ${fmtDate(imp.expires_at)}. Continue it in the import wizard, or delete it now.`,
      ),
      h("p", { class: "actions left" }, h("a", { class: "button", href: `#/import/${encodeURIComponent(imp.id)}` }, "Continue the import"), deleting),
    );
  };

  const finish = async (imp) => {
    clear(summary);
    if (undo) {
      append(summary, undoResult(imp, { original, originalName: original ? importName(original) : "the import" }));
      return;
    }
    if (imp.status === "uploaded") {
      uploaded(imp);
      return;
    }
    if (imp.status === "previewed") {
      previewed(imp);
      return;
    }
    const c = imp.counts;
    const applied = c.created + c.updated;
    const cancelledPreview = imp.status === "cancelled" && imp.dry_run;
    if (imp.status === "failed") {
      summary.append(errorBox({ message: imp.error || "The import failed." }, imp.dry_run ? "The preview failed" : "The import failed"));
    }
    summary.append(h("h2", {}, "Summary"), h("p", { class: "done-line", "data-testid": "done-line" }, outcomeSentence(imp)));
    if (imp.undone_by) {
      summary.append(
        h(
          "div",
          { class: "alert info", "data-testid": "undone" },
          "This import was undone: ",
          h("a", { href: `#/imports/${encodeURIComponent(imp.undone_by)}` }, "see the undo"),
          ". What it did was taken back, except values changed since. The messages below no longer count the people the undo deleted.",
        ),
      );
    }
    // After failures the error report comes first; the people link only when it leads to someone.
    const links = h("p", { class: "actions left outcome-actions" });
    const result = h("div", { "aria-live": "polite" });
    if (cancelledPreview) links.append(commitButton(result));
    if (c.failed > 0 && !imp.dry_run) links.append(errorReportButton(imp, "Download the error report (CSV)", null, { primary: true }));
    // After an undo the tag was taken back: the people tagged are not this import's any more.
    if (imp.tag && !imp.dry_run && !imp.undone_by && applied > 0) {
      links.append(
        h("a", { class: c.failed > 0 ? "button secondary" : "button", href: `#/people${query({ q: `tag: ${imp.tag}` })}` }, `See the people tagged “${imp.tag}”`),
      );
    }
    if (imp.summary && !imp.dry_run) {
      links.append(h("a", { class: "button secondary", href: `#/imports/${encodeURIComponent(imp.id)}/changes` }, "View changes"));
    }
    links.append(h("a", { class: "button secondary", href: "#/import" }, "Import more people"));
    if (canUndo(imp)) links.append(undoButton(imp, { name: importName(imp), navigate: ctx.navigate, parent: ctx.main }));
    summary.append(links, result);
    if (c.failed > 0 || c.warnings > 0) append(summary, causesSection(imp));
    if (imp.summary) summary.append(summarySections(imp, { problems: false }));
    if (c.failed > 0) summary.append(failedRows(imp));
  };

  const last = await watchImport(id, {
    isStopped: () => stopped,
    onState: (imp) => {
      clear(problem);
      draw(imp);
    },
    onError: (error) => clear(problem).append(errorBox(error, "Progress could not be updated; retrying")),
  });
  if (last) await finish(last);
}

/** One import's changes, row by row (the diff), reached from its page and the history. */
export async function importChanges(ctx) {
  const [id] = ctx.params;
  const imp = await api("GET", `/api/imports/${encodeURIComponent(id)}`);
  ctx.main.append(
    h("p", { class: "crumbs" }, h("a", { href: `#/imports/${encodeURIComponent(id)}` }, title(imp))),
    h("div", { class: "page-head" }, h("h1", {}, imp.dry_run ? "Changes it would make" : "Changes made"), statusBadge(imp)),
  );
  if (!imp.summary) {
    ctx.main.append(notice("This import has not finished: its changes are listed once it has."));
    return;
  }
  ctx.main.append(
    h("p", { class: "done-line" }, resultSentence(imp)),
    changesView(imp, { limit: 50, people: !imp.dry_run }),
  );
}
