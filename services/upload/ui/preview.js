// The wizard's preview of an uploaded file: its first rows as the server read them, with the
// encoding and delimiter it detected. Choosing others asks the server to read the file again
// (POST /api/imports/{id}/preview): its answer, with the columns and what the mapping step
// offers for them, replaces the upload's. There is one CSV reader, the server's.

import { api } from "./api.js";
import { append, clear, columnName, errorBox, field, h, select } from "./dom.js";
import { initMapping } from "./mapping.js";
import { meta } from "./meta.js";

// How encodings and delimiters are shown; which exist comes from the server (meta.js).
const ENCODING_LABELS = {
  "utf-8": "UTF-8",
  "utf-8-sig": "UTF-8 with byte-order mark",
  "utf-16": "UTF-16",
  cp1252: "Windows-1252 (Western European)",
};
const DELIMITER_LABELS = { ",": "Comma ( , )", ";": "Semicolon ( ; )", "\t": "Tab", "|": "Pipe ( | )" };
const encodings = () => meta.encodings.map((e) => [e, ENCODING_LABELS[e] || e]);
const delimiters = () => meta.delimiters.map((d) => [d, DELIMITER_LABELS[d] || d]);
const label = (list, value) => (list.find(([v]) => v === value) || [value, value])[1];

/**
 * Take the server's reading of the draft's file (`imp`, an upload's or a re-read's answer):
 * its columns, first rows and settings, and the mapping it offers for them. A re-read
 * (`reread`) that finds the same columns keeps the choices made instead.
 */
export function readAs(draft, imp, { reread = false } = {}) {
  const same = reread && imp.columns?.length === draft.columns.length && imp.columns.every((c, i) => c === draft.columns[i]);
  draft.upload = imp;
  draft.columns = imp.columns || [];
  draft.preview = imp.preview || [];
  draft.encoding = imp.detected?.encoding || "utf-8";
  draft.delimiter = imp.detected?.delimiter || ",";
  if (!same && draft.source !== "mixpanel_file") initMapping(draft);
}

export function previewStep(draft, { container, next, back }) {
  const status = h("p", { class: "hint", "aria-live": "polite", "data-testid": "preview-status" });
  const problem = h("div", { "aria-live": "assertive" });
  const tableSlot = h("div");
  const encoding = select(encodings(), draft.encoding);
  const delimiter = select(delimiters(), draft.delimiter);
  const sniffed = draft.sniffed || draft.upload.detected || {};
  const continueButton = h("button", { type: "button", onclick: next }, "Continue");

  const drawTable = () => {
    clear(tableSlot);
    if (!draft.columns.length) {
      tableSlot.append(h("p", {}, "No columns were found with these settings."));
      return;
    }
    tableSlot.append(
      h(
        "div",
        { class: "table-wrap scroll", role: "region", "aria-label": "Preview of the file", tabindex: "0" },
        h(
          "table",
          { class: "preview" },
          h("caption", {}, `First ${draft.preview.length === 1 ? "row" : `${draft.preview.length} rows`} of ${draft.upload.file_name || "the file"}`),
          h("thead", {}, h("tr", {}, draft.columns.map((c) => h("th", { scope: "col" }, columnName(c))))),
          h(
            "tbody",
            {},
            draft.preview.map((row) => h("tr", {}, draft.columns.map((_, i) => h("td", {}, row[i] ?? "")))),
          ),
        ),
      ),
    );
  };

  // Only the last choice's answer counts: a slower earlier one that arrives after it is dropped.
  let asked = 0;
  const reread = async () => {
    const mine = (asked += 1);
    const wanted = { encoding: encoding.value, delimiter: delimiter.value };
    clear(problem);
    status.textContent = "Reading the file again…";
    continueButton.disabled = true;
    try {
      const imp = await api("POST", `/api/imports/${encodeURIComponent(draft.upload.id)}/preview`, wanted);
      if (mine !== asked) return;
      readAs(draft, imp, { reread: true });
      const remembered = imp.mapping_source === "remembered" ? " Its columns match an earlier import: its mapping is used." : "";
      status.textContent = `Read again as ${label(encodings(), draft.encoding)}, ${label(delimiters(), draft.delimiter).toLowerCase()}: ${draft.columns.length} ${draft.columns.length === 1 ? "column" : "columns"}.${remembered}`;
      drawTable();
    } catch (error) {
      if (mine !== asked) return;
      // The server kept its reading: the selects go back to it.
      encoding.value = draft.encoding;
      delimiter.value = draft.delimiter;
      status.textContent = "";
      problem.append(
        errorBox(error, "The file was not read again"),
        h("p", { class: "hint" }, `It is still read as ${label(encodings(), draft.encoding)}, ${label(delimiters(), draft.delimiter).toLowerCase()}.`),
      );
    } finally {
      if (mine === asked) continueButton.disabled = false;
    }
  };
  encoding.addEventListener("change", reread);
  delimiter.addEventListener("change", reread);

  drawTable();
  const json = draft.source === "mixpanel_file";
  const settings = json
    ? h(
        "p",
        { class: "detected" },
        "A Mixpanel people export. It is mapped automatically: $email, $name (or first and last name), ",
        "$created, $phone, $last_seen and $distinct_id go to the standard fields; other properties become custom attributes.",
      )
    : [
        h(
          "p",
          { class: "detected" },
          "Detected: ",
          h("strong", { "data-testid": "detected-encoding" }, label(encodings(), sniffed.encoding)),
          ", ",
          h("strong", { "data-testid": "detected-delimiter" }, label(delimiters(), sniffed.delimiter)),
          ". Change them if the columns below look wrong.",
        ),
        h("div", { class: "row" }, field("Encoding", encoding).wrap, field("Delimiter", delimiter).wrap),
        status,
        problem,
      ];
  append(container, [
    h("h2", { tabindex: "-1" }, "Check the preview"),
    settings,
    tableSlot,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: back }, "Back"), continueButton),
  ]);
}
