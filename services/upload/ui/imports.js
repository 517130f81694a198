// One import's live progress and summary (with the error report), and the import history.

import { api, download, query } from "./api.js";
import { clear, errorBox, fmtDate, fmtNumber, h, notice, table } from "./dom.js";

const SOURCES = {
  csv: "CSV",
  mailchimp: "MailChimp",
  mailchimp_csv: "MailChimp export",
  mixpanel: "Mixpanel",
  mixpanel_file: "Mixpanel export",
  api: "API",
};
const STATUSES = {
  uploaded: "Uploaded, not started",
  queued: "Queued",
  processing: "Processing",
  completed: "Completed",
  failed: "Failed",
};
const POLL_MS = 700;

export function sourceName(source) {
  return SOURCES[source] || source;
}

function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, STATUSES[status] || status);
}

function errorReportButton(imp, label = "Download error report (CSV)", ariaLabel = null) {
  const result = h("span", { class: "inline-result", "aria-live": "polite" });
  const button = h(
    "button",
    {
      type: "button",
      class: "secondary",
      "aria-label": ariaLabel,
      onclick: async () => {
        clear(result);
        button.disabled = true;
        try {
          await download(`/api/imports/${encodeURIComponent(imp.id)}/errors`, `errors-${imp.id}.csv`);
        } catch (error) {
          result.append(errorBox(error, "The error report could not be downloaded"));
        } finally {
          button.disabled = false;
        }
      },
    },
    label,
  );
  return h("span", { class: "download" }, button, result);
}

function duration(start, end) {
  const seconds = Math.max(0, (new Date(end) - new Date(start)) / 1000);
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function percentOf(imp) {
  return imp.status === "completed" ? 100 : Math.floor((imp.progress || 0) * 100);
}

export async function importProgress(ctx) {
  const [id] = ctx.params;
  const path = `/api/imports/${encodeURIComponent(id)}`;
  const heading = h("h1", {}, "Import");
  const badge = h("span");
  const bar = h("progress", { id: "import-progress", max: "100", value: "0" });
  const percent = h("span", { class: "percent", "data-testid": "progress-percent" }, "0 %");
  const rowsDone = h("dd", { "data-testid": "rows-done" });
  const created = h("dd", { "data-testid": "count-created" });
  const updated = h("dd", { "data-testid": "count-updated" });
  const failed = h("dd", { "data-testid": "count-failed" });
  const speed = h("dd", { "data-testid": "rows-per-second" });
  const tag = h("dd");
  const timing = h("dd");
  const summary = h("section", { class: "summary-box", "aria-live": "polite" });
  const problem = h("div", { "aria-live": "assertive" });
  let timer = null;
  let stopped = false;
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });

  ctx.main.append(
    h("div", { class: "page-head" }, heading, badge),
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "progress-line" },
        h("label", { for: "import-progress" }, "Progress"),
        bar,
        percent,
      ),
      h(
        "dl",
        { class: "stats" },
        h("div", {}, h("dt", {}, "Rows done"), rowsDone),
        h("div", {}, h("dt", {}, "Created"), created),
        h("div", {}, h("dt", {}, "Updated"), updated),
        h("div", {}, h("dt", {}, "Failed"), failed),
        h("div", {}, h("dt", {}, "Speed"), speed),
        h("div", {}, h("dt", {}, "Tag"), tag),
        h("div", {}, h("dt", {}, "Duration"), timing),
      ),
    ),
    problem,
    summary,
  );

  const draw = (imp) => {
    heading.textContent = imp.file_name ? `Import of ${imp.file_name}` : `${sourceName(imp.source)} import`;
    clear(badge).append(statusBadge(imp.status));
    const value = percentOf(imp);
    bar.value = value;
    bar.setAttribute("aria-valuetext", `${value} percent`);
    percent.textContent = `${value} %`;
    const c = imp.counts;
    const done = c.created + c.updated + c.failed;
    rowsDone.textContent = c.rows ? `${fmtNumber(done)} of ${fmtNumber(c.rows)}` : fmtNumber(done);
    created.textContent = fmtNumber(c.created);
    updated.textContent = fmtNumber(c.updated);
    failed.textContent = fmtNumber(c.failed);
    speed.textContent = imp.rows_per_second != null ? `${fmtNumber(imp.rows_per_second)} rows/s` : "—";
    tag.textContent = imp.tag || "—";
    timing.textContent = imp.started_at
      ? `${duration(imp.started_at, imp.finished_at || new Date())}${imp.finished_at ? "" : " so far"}`
      : "not started";
  };

  const finish = async (imp) => {
    clear(summary);
    if (imp.status === "uploaded") {
      summary.append(notice("This file was uploaded but the import was never started. Upload it again from Import people."));
      return;
    }
    const c = imp.counts;
    if (imp.status === "failed") {
      summary.append(errorBox({ message: imp.error || "The import failed." }, "The import failed"));
    } else {
      summary.append(
        h("h2", {}, "Summary"),
        h(
          "p",
          { class: "done-line" },
          `Import completed: ${fmtNumber(c.created)} created, ${fmtNumber(c.updated)} updated, ${fmtNumber(c.failed)} failed, out of ${fmtNumber(c.rows)} rows.`,
        ),
      );
    }
    const links = h("p", { class: "actions" });
    if (imp.tag) {
      links.append(h("a", { class: "button", href: `#/people${query({ q: `tag: ${imp.tag}` })}` }, `See the people tagged “${imp.tag}”`));
    }
    links.append(h("a", { class: "button secondary", href: "#/import" }, "Import more people"));
    summary.append(links);
    if (c.failed > 0) {
      summary.append(
        h("h3", {}, `${fmtNumber(c.failed)} ${c.failed === 1 ? "row" : "rows"} failed`),
        h("p", {}, "Nothing from a failed row was imported. Fix the rows in the report and import it again."),
        errorReportButton(imp),
      );
      try {
        const report = await api("GET", `${path}/errors?format=json&limit=20`);
        const shown = report.data;
        summary.append(
          table(
            ["Row", "Errors", "Values"],
            shown.map((e) => [
              String(e.row),
              h("ul", {}, e.errors.map((text) => h("li", {}, text))),
              Object.entries(e.values)
                .map(([k, v]) => `${k}: ${v}`)
                .join(" · "),
            ]),
            { caption: c.failed > shown.length ? `The first ${shown.length} of ${fmtNumber(c.failed)} failed rows` : "Failed rows" },
          ),
        );
      } catch (error) {
        summary.append(errorBox(error, "The failed rows could not be listed"));
      }
    }
  };

  const poll = async () => {
    if (stopped) return;
    try {
      const imp = await api("GET", path);
      if (stopped) return;
      clear(problem);
      draw(imp);
      if (["completed", "failed", "uploaded"].includes(imp.status)) {
        await finish(imp);
        return;
      }
    } catch (error) {
      if (stopped) return;
      clear(problem).append(errorBox(error, "Progress could not be updated; retrying"));
      if (error.status === 404) return;
    }
    timer = setTimeout(poll, POLL_MS);
  };
  await poll();
}

export async function importHistory(ctx) {
  const slot = h("div");
  const more = h("div", { class: "actions" });
  ctx.main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Import history"), h("a", { class: "button", href: "#/import" }, "Import people")),
    slot,
    more,
  );
  const rows = [];
  const load = async (cursor) => {
    const page = await api("GET", `/api/imports${query({ limit: 50, cursor })}`);
    rows.push(...page.data);
    clear(slot);
    if (!rows.length) {
      slot.append(h("p", {}, "No imports yet. ", h("a", { href: "#/import" }, "Import people"), " to get started."));
    } else {
      slot.append(
        table(
          ["Date", "Source", "Kind", "Tag", "Rows", "Created", "Updated", "Failed", "Status", "Errors"],
          rows.map((imp) => [
            h("a", { href: `#/imports/${encodeURIComponent(imp.id)}` }, fmtDate(imp.created_at)),
            imp.file_name ? `${sourceName(imp.source)}: ${imp.file_name}` : sourceName(imp.source),
            imp.kind === "leads" ? "Leads" : "Users",
            imp.tag || "—",
            fmtNumber(imp.counts.rows),
            fmtNumber(imp.counts.created),
            fmtNumber(imp.counts.updated),
            fmtNumber(imp.counts.failed),
            statusBadge(imp.status),
            imp.counts.failed > 0 ? errorReportButton(imp, "Download", `Download the error report of the import of ${fmtDate(imp.created_at)}`) : "—",
          ]),
          { caption: `${rows.length} ${rows.length === 1 ? "import" : "imports"}, newest first` },
        ),
      );
    }
    clear(more);
    if (page.next_cursor) {
      more.append(
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            onclick: () => load(page.next_cursor).catch((error) => more.append(errorBox(error))),
          },
          "Show more",
        ),
      );
    }
  };
  await load(null);
}
