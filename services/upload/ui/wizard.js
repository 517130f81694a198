// The import wizard: method and kind → file (drag and drop, upload progress) or credentials →
// preview (preview.js) → columns (mapping.js) → tag, live messages and confirm (options.js) →
// for a file, the review of a dry run's changes (review.js) before importing. The draft lives
// in memory for the tab.

import { api, uploadFile } from "./api.js";
import { append, clear, errorBox, h, radios } from "./dom.js";
import { mappingStep, startColumns } from "./mapping.js";
import { optionsStep } from "./options.js";
import { previewStep, readAs } from "./preview.js";
import { REMOTE_NAMES, remoteForm, startRemote } from "./remote.js";
import { reviewStep, startPreview } from "./review.js";

const METHODS = [
  ["csv", "CSV file", "A spreadsheet export: one person per row, a header row naming the columns."],
  ["mailchimp", "MailChimp", "An audience, through MailChimp's API or its audience export file."],
  ["mixpanel", "Mixpanel", "People profiles, through Mixpanel's engage API or a people export."],
];
const KINDS = [
  ["users", "Users", "People who signed up to your product. They can carry a user ID."],
  ["leads", "Leads", "Prospects who have not signed up yet. Matched by email only."],
];
const STEPS = [
  ["method", "Method"],
  ["source", "Source"],
  ["preview", "Preview"],
  ["mapping", "Columns"],
  ["options", "Tag and confirm"],
  ["review", "Review changes"],
];

let draft = fresh();

function fresh() {
  return {
    step: "method",
    method: "csv",
    kind: "users", // the import's: the one chosen, or the one a remembered mapping brings
    chosenKind: "users", // the one chosen on the first step (what "Start fresh" goes back to)
    mode: "api",
    upload: null, // the import as the server last described it (upload, or a re-read)
    sniffed: null, // the encoding and delimiter the server detected at the upload
    source: "csv",
    columns: [],
    preview: [],
    mapping: {},
    attributes: {}, // column → {on, existing, name, type} (attributes.js)
    existing: [], // the workspace's custom attributes [{name, type}]; null: not listed
    existingError: "",
    usingRemembered: false,
    encoding: "utf-8",
    delimiter: ",",
    tag: "",
    trigger: true,
    blank: "clear",
    dateOrder: "DMY",
    country: "",
    invalid: "fail_record",
    suppress: [], // ids of the live messages this import must not send
    previewOf: null, // the body of the last dry run (JSON), to tell when its preview is out of date
    remote: { region: "us", status: "subscribed" },
  };
}

/** A Mixpanel people export: JSON, mapped by the server's rules (no column step). */
function jsonFile() {
  return draft.source === "mixpanel_file";
}

function fileFlow() {
  return draft.method === "csv" || draft.mode === "file";
}

export function importWizard(ctx) {
  const container = h("div", { class: "wizard" });
  const restart = h("div", { class: "head-actions" });
  ctx.main.append(h("div", { class: "page-head" }, h("h1", {}, "Import people"), restart), container);

  /** Show `step`, with the focus on its heading, or on the control `focus` selects. */
  function go(step, focus) {
    draft.step = step;
    show();
    const target = (focus && container.querySelector(focus)) || container.querySelector("h2");
    const folded = target?.closest("details");
    if (folded) folded.open = true;
    target?.focus();
  }

  function show() {
    clear(container);
    clear(restart);
    if (draft.step !== "method") {
      const again = () => {
        draft = fresh();
        show();
        container.querySelector("h2")?.focus();
      };
      restart.append(h("button", { type: "button", class: "link", onclick: again }, "Start over"));
    }
    const skipped = !fileFlow() ? ["preview", "mapping", "review"] : jsonFile() ? ["mapping"] : [];
    const visible = STEPS.filter(([key]) => !skipped.includes(key));
    const current = visible.findIndex(([key]) => key === draft.step);
    container.append(
      h(
        "ol",
        { class: "steps", "aria-label": "Import steps" },
        visible.map(([key, text], i) =>
          h(
            "li",
            { class: i < current ? "done" : i === current ? "current" : "", "aria-current": i === current ? "step" : null },
            h("span", { class: "num" }, String(i + 1)),
            " ",
            text,
          ),
        ),
      ),
    );
    const body = h("section", { class: "card" });
    container.append(body);
    const steps = {
      method: () => methodStep(body),
      source: () => (fileFlow() ? fileStep(body) : remoteStep(body)),
      preview: () =>
        previewStep(draft, { container: body, next: () => go(jsonFile() ? "options" : "mapping"), back: () => go("source") }),
      mapping: () => mappingStep(draft, { container: body, next: () => go("options"), back: () => go("preview") }),
      options: () =>
        optionsStep(draft, {
          container: body,
          file: fileFlow(),
          jsonFile: jsonFile(),
          back: () => go(!fileFlow() ? "source" : jsonFile() ? "preview" : "mapping"),
          preview: async () => {
            await startPreview(draft, fileBody());
            go("review");
          },
          start: commit,
        }),
      review: () =>
        reviewStep(draft, {
          container: body,
          body: fileBody,
          back: () => go("options"),
          fix: (target) => {
            if (target === "restart") {
              draft = fresh();
              go("method");
            } else if (target === "mapping") {
              go("mapping");
            } else {
              // The default country is beside the phone column.
              if (target === "country") go("mapping", "#default-country");
              else go("options", "input[name=invalid-values]:checked");
            }
          },
          start: commit,
        }),
    };
    steps[draft.step]();
  }

  function methodStep(body) {
    body.append(
      h("h2", { tabindex: "-1" }, "How do you want to import?"),
      h("fieldset", {}, h("legend", {}, "Import from"), radios("method", METHODS, draft.method, (v) => (draft.method = v))),
      h("fieldset", {}, h("legend", {}, "Import them as"), radios("kind", KINDS, draft.chosenKind, (v) => (draft.kind = draft.chosenKind = v))),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => go("source") }, "Continue")),
    );
  }

  function fileStep(body) {
    const accept = draft.method === "mixpanel" ? ".json,application/json" : ".csv,.tsv,.txt,text/csv";
    const input = h("input", { type: "file", id: "file-input", class: "visually-hidden", accept });
    const progress = h("progress", { max: "100", value: "0", id: "upload-progress" });
    const percent = h("span", { class: "percent" }, "0 %");
    const progressBox = h(
      "div",
      { class: "upload-progress", hidden: true },
      h("label", { for: "upload-progress" }, "Uploading"),
      progress,
      percent,
    );
    const result = h("div", { "aria-live": "polite" });
    const zone = h(
      "div",
      { class: "drop-zone", id: "drop-zone" },
      h("p", { class: "drop-title" }, "Drag and drop your file here"),
      h("p", {}, "or"),
      input,
      h("label", { for: "file-input", class: "button" }, "Choose a file"),
      h("p", { class: "hint" }, draft.method === "csv" ? "CSV, UTF-8 or Windows-1252, any common delimiter." : null),
    );

    let busy = false;
    async function send(file) {
      if (busy || !file) return;
      busy = true;
      clear(result);
      progressBox.hidden = false;
      progressBox.querySelector("label").textContent = `Uploading ${file.name}`;
      const onProgress = (fraction) => {
        const value = Math.round(fraction * 100);
        progress.value = value;
        percent.textContent = `${value} %`;
      };
      onProgress(0);
      const source = draft.method === "mailchimp" ? "mailchimp_csv" : draft.method === "mixpanel" ? "mixpanel_file" : "csv";
      // The workspace's attributes, listed while the file goes up: the mapping offers them.
      const listed = api("GET", "/api/attributes").then(
        (page) => ({ existing: page.data, error: "" }),
        (error) => ({ existing: null, error: error.message }),
      );
      try {
        const uploaded = await uploadFile(file, source, onProgress);
        const attributes = await listed;
        draft.existing = attributes.existing;
        draft.existingError = attributes.error;
        draft.source = uploaded.source || source;
        draft.sniffed = uploaded.detected || null;
        draft.columns = [];
        readAs(draft, uploaded);
        go("preview");
      } catch (error) {
        progressBox.hidden = true;
        result.append(errorBox(error, `${file.name} could not be uploaded`));
      } finally {
        busy = false;
        input.value = "";
      }
    }

    input.addEventListener("change", () => send(input.files[0]));
    for (const name of ["dragenter", "dragover"]) {
      zone.addEventListener(name, (event) => {
        event.preventDefault();
        zone.classList.add("over");
      });
    }
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      const files = event.dataTransfer?.files;
      if (!files || !files.length) {
        result.append(errorBox({ message: "Nothing was dropped: drop a file from your computer." }));
        return;
      }
      if (files.length > 1) {
        result.append(errorBox({ message: "Drop one file at a time." }));
        return;
      }
      send(files[0]);
    });

    const heading =
      draft.method === "mailchimp" ? "Upload the MailChimp audience export" : draft.method === "mixpanel" ? "Upload the Mixpanel people export" : "Upload your CSV file";
    append(body, [
      h("h2", { tabindex: "-1" }, heading),
      draft.method !== "csv" ? modeSwitch() : null,
      zone,
      progressBox,
      result,
      h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => go("method") }, "Back")),
    ]);
  }

  function modeSwitch() {
    const name = REMOTE_NAMES[draft.method];
    return h(
      "fieldset",
      { class: "inline" },
      h("legend", {}, `Import from ${name}`),
      radios(
        "mode",
        [
          ["api", `Connect to ${name}`],
          ["file", draft.method === "mailchimp" ? "Upload an audience export (CSV)" : "Upload a people export (JSON)"],
        ],
        draft.mode,
        (value) => {
          draft.mode = value;
          show();
          container.querySelector(`input[name=mode][value=${value}]`)?.focus();
        },
      ),
    );
  }

  function remoteStep(body) {
    remoteForm(draft, body, { header: modeSwitch(), back: () => go("method"), next: () => go("options") });
  }

  /** Start the import (the draft's file with its body, or its remote source) and follow it on
   * its own page; rejects with the API's error. */
  async function commit() {
    const started = fileFlow()
      ? await api("POST", `/api/imports/${encodeURIComponent(draft.upload.id)}/start`, fileBody())
      : await startRemote(draft);
    draft = fresh();
    ctx.navigate(`/imports/${encodeURIComponent(started.id)}`);
  }

  /** The body of start (and of dry-run: the same) for the draft's file (SPEC §3, §6.2). */
  function fileBody() {
    const options = {
      kind: draft.kind,
      tag: draft.tag.trim() || null,
      trigger_messages: draft.trigger,
      blank_values: draft.blank,
      date_order: draft.dateOrder,
      default_country: draft.country.trim() || null,
      invalid_values: draft.invalid,
      suppress_messages: draft.suppress,
    };
    if (jsonFile()) return options;
    // The server reads the file as it last described it (the upload's detection, or the
    // re-read the preview asked for): encoding and delimiter go only when they differ.
    const detected = draft.upload.detected || {};
    const body = { ...options, ...startColumns(draft) };
    if (draft.encoding !== detected.encoding) body.encoding = draft.encoding;
    if (draft.delimiter !== detected.delimiter) body.delimiter = draft.delimiter;
    return body;
  }

  show();
}
