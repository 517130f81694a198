// Taking an import back (SPEC §6.3): "Undo import" asks first, saying what the undo will do
// (from the import's counts and the messages it sent), and the undo's own page shows its
// progress (deleted, restored, conflicts), the messages that stay sent, and its conflicts
// report: the values kept because someone changed them after the import.

import { api } from "./api.js";
import { fieldLabel } from "./changes.js";
import { confirmDialog } from "./dialog.js";
import { actionButton, clear, errorBox, fmtNumber, h, table } from "./dom.js";
import { feedOf } from "./feeds.js";
import { channelName } from "./messages.js";
import { errorReportButton } from "./summary.js";

const UNDOABLE = ["completed", "failed", "cancelled"];
const REPORT_ROWS = 50;

const plural = (n, one, many) => `${fmtNumber(n)} ${n === 1 ? one : many}`;

/** People the import created, and those it changed (the unchanged it matched are not touched). */
function touched(counts) {
  return { created: counts.created, changed: counts.updated - (counts.unchanged || 0) };
}

/**
 * Whether `imp` can be undone: a finished real import, not an undo, not undone, that did
 * something. An API's day entry keeps no diff to take back (the server answers 409).
 */
export function canUndo(imp) {
  if (imp.dry_run || imp.source === "undo" || feedOf(imp) || imp.undone_by || !UNDOABLE.includes(imp.status)) return false;
  const { created, changed } = touched(imp.counts);
  return created + changed > 0;
}

/** The channel of each message that reached someone, by id (unknown ones are left out). */
async function channels(messages) {
  const found = await Promise.all(
    messages.map((m) =>
      api("GET", `/api/messages/${encodeURIComponent(m.message_id)}`)
        .then((message) => [m.message_id, message.channel])
        .catch(() => [m.message_id, null]),
    ),
  );
  return Object.fromEntries(found);
}

/** What undoing `imp` will do, as the confirmation says it. */
function effects(imp, channelOf) {
  const { created, changed } = touched(imp.counts);
  const sent = (imp.summary?.messages || []).filter((m) => m.deliveries > 0);
  const total = sent.reduce((n, m) => n + m.deliveries, 0);
  // In-app messages are delivered at once; an email or webhook send may still be waiting.
  const waiting = sent.some((m) => channelOf[m.message_id] !== "in_app");
  return [
    h(
      "ul",
      { class: "undo-effects" },
      h(
        "li",
        { "data-testid": "undo-will-delete" },
        created
          ? [h("strong", {}, `Up to ${plural(created, "person", "people")} it created ${created === 1 ? "is" : "are"} deleted`), ", with their events and tags."]
          : "It created nobody, so nobody is deleted.",
      ),
      h(
        "li",
        { "data-testid": "undo-will-restore" },
        changed
          ? [
              h("strong", {}, `Up to ${plural(changed, "person", "people")} it changed ${changed === 1 ? "gets" : "get"} back the values from before it`),
              ": fields, custom attributes, a lead it turned into a user, and the tags it added.",
            ]
          : "It changed nobody, so nothing is restored.",
      ),
      h(
        "li",
        {},
        "Anyone changed after the import, by another import or through the API, keeps the newer values. The undo lists them as conflicts, so the numbers can come out lower.",
      ),
    ),
    h("h3", {}, "Messages"),
    total
      ? [
          h(
            "p",
            { "data-testid": "undo-sent" },
            h("strong", {}, `${waiting ? "Up to " : ""}${plural(total, "message", "messages")} this import sent cannot be recalled`),
            waiting ? ": email and webhook sends still waiting are cancelled." : ".",
          ),
          h(
            "ul",
            { class: "undo-messages" },
            sent.map((m) => {
              const channel = channelOf[m.message_id];
              const how = channel === "in_app" ? "delivered at once" : "sent or waiting";
              return h("li", {}, `“${m.name}”${channel ? ` (${channelName(channel)})` : ""}: ${plural(m.deliveries, "person", "people")}, ${how}`);
            }),
          ),
        ]
      : h("p", { "data-testid": "undo-sent" }, "This import sent no messages."),
    h("p", { class: "hint" }, "An undo cannot itself be undone: to bring these changes back, import the file again."),
  ];
}

/**
 * "Undo import" for `imp` (called `name` in a sentence: "the import of people.csv"): reads the
 * import afresh, asks in a dialog (in `parent`), starts the undo and `navigate`s to its page.
 */
export function undoButton(imp, { name, navigate, parent, ariaLabel }) {
  const id = encodeURIComponent(imp.id);
  return actionButton("Undo import", {
    ariaLabel,
    failure: "What the undo would do could not be counted",
    work: async () => {
      const fresh = await api("GET", `/api/imports/${id}`);
      const channelOf = await channels((fresh.summary?.messages || []).filter((m) => m.deliveries > 0));
      return async (button) => {
        const started = await confirmDialog({
          title: `Undo ${name}?`,
          body: effects(fresh, channelOf),
          confirm: "Undo import",
          cancel: "Keep the import",
          busy: "Starting the undo…",
          failure: "The undo did not start",
          danger: true,
          parent,
          opener: button,
          run: () => api("POST", `/api/imports/${id}/undo`),
        });
        if (started) navigate(`/imports/${encodeURIComponent(started.id)}`);
      };
    },
  });
}

/** The undo's counts for its progress card: items for a <dl class="stats"> and `draw(imp)`. */
export function undoStats() {
  const dd = (key) => h("dd", { "data-testid": `undo-${key}` });
  const rows = dd("rows");
  const deleted = dd("deleted");
  const restored = dd("restored");
  const conflicts = dd("conflicts");
  return {
    items: [
      h("div", {}, h("dt", {}, "People done"), rows),
      h("div", {}, h("dt", {}, "Deleted"), deleted),
      h("div", {}, h("dt", {}, "Restored"), restored),
      h("div", {}, h("dt", {}, "Conflicts (kept)"), conflicts),
    ],
    draw(imp) {
      const c = imp.counts;
      rows.textContent = fmtNumber(c.rows);
      deleted.textContent = fmtNumber(c.deleted || 0);
      restored.textContent = fmtNumber(c.reverted || 0);
      conflicts.textContent = fmtNumber(c.conflicts || 0);
    },
  };
}

/** "Undo completed: 1 deleted, 2 restored, 2 kept as conflicts, out of 5 people." */
export function undoSentence(imp) {
  const c = imp.counts;
  const done = imp.status === "cancelled" ? "Undo cancelled" : "Undo completed";
  return `${done}: ${fmtNumber(c.deleted)} deleted, ${fmtNumber(c.reverted)} restored, ${fmtNumber(c.conflicts)} kept as ${c.conflicts === 1 ? "a conflict" : "conflicts"}, out of ${plural(c.rows, "person", "people")}.`;
}

function sentMessages(imp) {
  const messages = (imp.summary?.messages || []).filter((m) => m.deliveries || m.cancelled);
  if (!messages.length) return h("p", { class: "hint" }, "The import had sent no messages.");
  return h(
    "ul",
    { class: "message-reach" },
    messages.map((m) =>
      h(
        "li",
        {},
        h("span", { class: "message-name" }, h("a", { href: `#/messages/${encodeURIComponent(m.message_id)}` }, m.name)),
        h(
          "span",
          { class: "reach", "data-testid": `undo-reach-${m.message_id}` },
          m.deliveries ? `Reached ${plural(m.deliveries, "person", "people")}: not recalled.` : "",
          m.cancelled ? ` ${plural(m.cancelled, "send", "sends")} not made yet ${m.cancelled === 1 ? "was" : "were"} cancelled.` : "",
        ),
      ),
    ),
  );
}

/** "name: kept 'x', changed since …" with the field as the page names it. */
function keptLine(text) {
  const match = /^([^:\s]+): (.*)$/s.exec(text);
  if (!match) return h("li", {}, text);
  return h("li", {}, h("span", { class: "change-field" }, `${fieldLabel(match[1])}: `), match[2]);
}

/** The undo's conflicts report: the values it kept, by row of the original import. */
function conflictsReport(imp, originalName) {
  const n = imp.counts.conflicts;
  if (!n) {
    return h("p", { "data-testid": "undo-no-conflicts" }, "Nobody was changed after the import: everything it did was taken back.");
  }
  const slot = h("div", { "aria-live": "polite" }, h("p", { class: "hint" }, "Loading the conflicts report…"));
  api("GET", `/api/imports/${encodeURIComponent(imp.id)}/errors?format=json&limit=${REPORT_ROWS}`)
    .then((report) => {
      const rows = report.data;
      clear(slot).append(
        table(
          ["Row", "Kept as it is now"],
          rows.map((e) => [`Row ${e.row}`, h("ul", { class: "changes" }, e.errors.map(keptLine))]),
          { caption: rows.length < n ? `The first ${rows.length} of ${fmtNumber(n)} conflicts` : "Conflicts report" },
        ),
      );
    })
    .catch((error) => clear(slot).append(errorBox(error, "The conflicts report could not be loaded")));
  return [
    h(
      "p",
      {},
      `${plural(n, "person was", "people were")} changed after the import, by another import or through the API. ${n === 1 ? "It keeps" : "They keep"} the newer values; the rest of what the import did was taken back. Rows are those of ${originalName}.`,
    ),
    slot,
    errorReportButton(imp, "Download the conflicts report (CSV)"),
  ];
}

/**
 * A finished undo's summary: its sentence (or why it failed), links back, the messages that
 * stay sent, and the conflicts report. `original` is the import it undid (null when unknown),
 * `originalName` what it is called in a sentence. A list of nodes.
 */
export function undoResult(imp, { original, originalName }) {
  const back = original
    ? h("a", { class: "button secondary", href: `#/imports/${encodeURIComponent(original.id)}` }, `Back to ${originalName}`)
    : null;
  return [
    imp.status === "failed"
      ? errorBox({ message: imp.error || "The undo failed." }, "The undo failed")
      : [h("h2", {}, "Summary"), h("p", { class: "done-line" }, undoSentence(imp))],
    h("p", { class: "actions left" }, back, h("a", { class: "button secondary", href: "#/imports" }, "Import history")),
    h("h3", {}, "Messages"),
    sentMessages(imp),
    h("h3", {}, "Conflicts"),
    conflictsReport(imp, originalName),
  ];
}
