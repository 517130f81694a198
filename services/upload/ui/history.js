// The import history, newest first: each import with its counts, status and actions (its
// changes, its error report, undo). An undo is an entry of its own ("Undo of people.csv"), and
// the import it undid links to it. An API's day entry ("Segment (API), 1 Dec 2026") counts the
// messages of that day and links to the Connect page's log: it has nothing to undo or download.
// Uploads never started are listed apart, under the imports, each with Delete (the server
// deletes them a day after the upload anyway).

import { api, query } from "./api.js";
import { resultCounts } from "./changes.js";
import { actionButton, clear, errorBox, fmtDate, fmtNumber, h, table } from "./dom.js";
import { feedDay, feedLinks, feedOf } from "./feeds.js";
import { importLabel, importName, sourceName, undoTitle } from "./imports.js";
import { statusBadge } from "./outcome.js";
import { errorReportButton } from "./summary.js";
import { canUndo, undoButton } from "./undo.js";

const link = (imp) => `#/imports/${encodeURIComponent(imp.id)}`;

export async function importHistory(ctx) {
  const slot = h("div");
  const more = h("div", { class: "actions" });
  const leftovers = h("div");
  ctx.main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Import history"), h("a", { class: "button", href: "#/import" }, "Import people")),
    slot,
    more,
    leftovers,
  );
  const rows = [];
  const uploads = []; // uploaded, never started: listed apart
  const gone = new Set(); // deleted here
  const byId = new Map(); // every import shown, and the originals of undos further down the history

  const actions = (imp) => {
    const when = fmtDate(imp.created_at);
    if (feedOf(imp)) return h("div", { class: "row-actions" }, feedLinks(imp));
    const items = [];
    if (imp.source === "undo") {
      if (imp.counts.conflicts) {
        items.push(h("a", { href: link(imp), "aria-label": `View the conflicts of the undo of ${when}` }, "View the conflicts"));
      }
    } else if (imp.status === "previewed") {
      items.push(h("a", { href: link(imp), "aria-label": `Review and import the preview of ${when}` }, "Review and import"));
    } else if (imp.summary && !imp.dry_run) {
      items.push(
        h("a", { href: `${link(imp)}/changes`, "aria-label": `View changes of the import of ${when}` }, "View changes"),
      );
    }
    if (imp.counts.failed > 0 && !imp.dry_run) {
      items.push(errorReportButton(imp, "Download", `Download the error report of the import of ${when}`));
    }
    if (canUndo(imp)) {
      items.push(undoButton(imp, { name: importName(imp), navigate: ctx.navigate, parent: ctx.main, ariaLabel: `Undo import of ${when}` }));
    }
    return items.length ? h("div", { class: "row-actions" }, items) : "—";
  };

  const source = (imp) => {
    const feed = feedOf(imp);
    if (feed) {
      return h(
        "div",
        { class: "feed-entry" },
        h("span", {}, feed.name),
        h("span", { class: "hint" }, `Messages of ${feedDay(imp)} (UTC)`),
      );
    }
    if (imp.source !== "undo") return imp.file_name ? `${sourceName(imp.source)}: ${imp.file_name}` : sourceName(imp.source);
    const c = imp.counts;
    return h(
      "div",
      { class: "undo-entry" },
      h("span", {}, undoTitle(byId.get(imp.undo_of))),
      h("span", { class: "hint" }, `${fmtNumber(c.deleted)} deleted · ${fmtNumber(c.reverted)} restored · ${fmtNumber(c.conflicts)} ${c.conflicts === 1 ? "conflict" : "conflicts"}`),
    );
  };

  const status = (imp) => {
    if (!imp.undone_by) return statusBadge(imp);
    return h(
      "div",
      { class: "row-actions" },
      statusBadge(imp),
      h("a", { href: `#/imports/${encodeURIComponent(imp.undone_by)}`, "aria-label": `Undone: see the undo of ${importName(imp)}` }, "Undone: see the undo"),
    );
  };

  // The history's counts are the import's records; an undo counts people, shown under its name.
  const counts = (imp) => {
    if (imp.source === "undo") return [fmtNumber(imp.counts.rows), "—", "—", "—", "—"];
    const c = resultCounts(imp.counts);
    return [fmtNumber(imp.counts.rows), fmtNumber(c.created), fmtNumber(c.updated), fmtNumber(c.unchanged), fmtNumber(c.failed)];
  };

  // Uploads never started: a compact list with Delete, under the imports. After a delete the
  // focus goes to the next Delete (or the page's heading), and a live region says what went.
  const said = h("p", { class: "visually-hidden", "aria-live": "polite" });
  const drawUploads = () => {
    clear(leftovers);
    const shown = uploads.filter((imp) => !gone.has(imp.id));
    if (!shown.length) return;
    const remove = async (imp, index) => {
      await api("DELETE", `/api/imports/${encodeURIComponent(imp.id)}`);
      gone.add(imp.id);
      drawUploads();
      said.textContent = `The upload of ${importLabel(imp)} was deleted.`;
      const buttons = leftovers.querySelectorAll(".upload-list button");
      const next = buttons[Math.min(index, buttons.length - 1)];
      if (next) next.focus();
      else ctx.main.querySelector("h1")?.focus();
    };
    leftovers.append(
      h(
        "section",
        { class: "card uploads", "aria-labelledby": "uploads-not-started" },
        h("h2", { id: "uploads-not-started" }, `Uploaded, not started (${fmtNumber(shown.length)})`),
        h("p", { class: "hint" }, "Files uploaded but never imported. Each is deleted a day after its upload; delete it now if you do not need it."),
        h(
          "ul",
          { class: "upload-list" },
          shown.map((imp, index) =>
            h(
              "li",
              {},
              h(
                "div",
                { class: "upload-entry" },
                h("a", { href: link(imp) }, importLabel(imp)),
                h("span", { class: "hint" }, `Uploaded ${fmtDate(imp.created_at)} · deleted on ${fmtDate(imp.expires_at)}`),
              ),
              actionButton("Delete", {
                ariaLabel: `Delete the upload of ${importLabel(imp)} (${fmtDate(imp.created_at)})`,
                failure: "The upload could not be deleted",
                work: () => remove(imp, index),
              }),
            ),
          ),
        ),
      ),
    );
  };
  ctx.main.append(said);

  const load = async (cursor) => {
    const page = await api("GET", `/api/imports${query({ limit: 50, cursor })}`);
    rows.push(...page.data.filter((imp) => imp.status !== "uploaded"));
    uploads.push(...page.data.filter((imp) => imp.status === "uploaded"));
    for (const imp of page.data) byId.set(imp.id, imp);
    const missing = [...new Set(rows.filter((imp) => imp.undo_of && !byId.has(imp.undo_of)).map((imp) => imp.undo_of))];
    await Promise.all(
      missing.map((id) =>
        api("GET", `/api/imports/${encodeURIComponent(id)}`)
          .then((imp) => byId.set(id, imp))
          .catch(() => null),
      ),
    );
    clear(slot);
    drawUploads();
    if (!rows.length) {
      slot.append(h("p", {}, "No imports yet. ", h("a", { href: "#/import" }, "Import people"), " to get started."));
    } else {
      slot.append(
        table(
          ["Date", "Source", "Kind", "Tag", "Rows", "Created", "Updated", "Unchanged", "Failed", "Status", "Actions"],
          rows.map((imp) => [
            h("a", { href: link(imp) }, fmtDate(imp.created_at)),
            source(imp),
            feedOf(imp) ? "Users and leads" : imp.kind === "leads" ? "Leads" : "Users",
            imp.tag || "—",
            ...counts(imp),
            status(imp),
            actions(imp),
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
