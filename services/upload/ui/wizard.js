// The import wizard: method and kind → file (drag and drop, upload progress) or credentials →
// preview → columns → tag, live messages and confirm. The draft lives in memory for the tab.

import { api, isUnavailable, unavailable, uploadFile } from "./api.js";
import { append, clear, errorBox, field, h, select, uid } from "./dom.js";
import { initMapping, mappingStep, previewStep, startColumns } from "./mapping.js";
import { mappingLabels } from "./meta.js";
import { channelName } from "./messages.js";
import { REMOTE_NAMES, remoteForm, startRemote } from "./remote.js";

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
];

let draft = fresh();

function fresh() {
  return {
    step: "method",
    method: "csv",
    kind: "users",
    mode: "api",
    file: null,
    upload: null,
    source: "csv",
    columns: [],
    preview: [],
    mapping: {},
    attributes: {},
    encoding: "utf-8",
    delimiter: ",",
    tag: "",
    trigger: true,
    blank: "clear",
    dateOrder: "DMY",
    country: "",
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

function radios(name, options, value, onChange) {
  return options.map(([optValue, text, hint]) => {
    const id = uid(name);
    const hintId = `${id}-hint`;
    return h(
      "div",
      { class: "choice" },
      h("input", {
        type: "radio",
        name,
        id,
        value: optValue,
        checked: optValue === value,
        "aria-describedby": hint ? hintId : null,
        onchange: () => onChange(optValue),
      }),
      h("label", { for: id }, text),
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    );
  });
}

export function importWizard(ctx) {
  const container = h("div", { class: "wizard" });
  const restart = h("div", { class: "head-actions" });
  ctx.main.append(h("div", { class: "page-head" }, h("h1", {}, "Import people"), restart), container);

  function go(step) {
    draft.step = step;
    show();
    container.querySelector("h2")?.focus();
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
    const skipped = !fileFlow() ? ["preview", "mapping"] : jsonFile() ? ["mapping"] : [];
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
      options: () => optionsStep(body),
    };
    steps[draft.step]();
  }

  function methodStep(body) {
    body.append(
      h("h2", { tabindex: "-1" }, "How do you want to import?"),
      h("fieldset", {}, h("legend", {}, "Import from"), radios("method", METHODS, draft.method, (v) => (draft.method = v))),
      h("fieldset", {}, h("legend", {}, "Import them as"), radios("kind", KINDS, draft.kind, (v) => (draft.kind = v))),
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
      try {
        const uploaded = await uploadFile(file, source, onProgress);
        draft.file = file;
        draft.upload = uploaded;
        draft.source = uploaded.source || source;
        draft.columns = uploaded.columns || [];
        draft.preview = uploaded.preview || [];
        draft.encoding = uploaded.detected?.encoding || "utf-8";
        draft.delimiter = uploaded.detected?.delimiter || ",";
        if (!jsonFile()) initMapping(draft);
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

  function optionsStep(body) {
    const tag = h("input", { type: "text", id: "import-tag", value: draft.tag, maxlength: "255" });
    tag.addEventListener("input", () => (draft.tag = tag.value));
    const trigger = h("input", { type: "checkbox", role: "switch", id: "trigger-messages", checked: draft.trigger });
    const liveList = h("div", { class: "live-messages", "aria-live": "polite" }, h("p", { class: "hint" }, "Loading live messages…"));
    trigger.addEventListener("change", () => {
      draft.trigger = trigger.checked;
      liveList.classList.toggle("muted", !trigger.checked);
    });
    api("GET", "/api/messages?limit=200")
      .then((page) => {
        clear(liveList);
        const live = page.data.filter((m) => m.state === "live" && m.type === "auto");
        if (!live.length) {
          liveList.append(h("p", { class: "hint" }, "No auto message is live, so this import sends nothing either way."));
          return;
        }
        liveList.append(
          h("p", { class: "hint" }, "With the switch on, these live messages go to every imported person who matches their audience:"),
          h(
            "ul",
            {},
            live.map((m) => h("li", {}, h("a", { href: `#/messages/${encodeURIComponent(m.id)}` }, m.name), ` (${channelName(m.channel)})`)),
          ),
        );
      })
      .catch((error) => {
        clear(liveList);
        liveList.append(errorBox(error, "The live messages could not be listed"));
      });

    const blank = select([["clear", "Clear the field (blank means unknown)"], ["ignore", "Keep the current value"]], draft.blank);
    blank.addEventListener("change", () => (draft.blank = blank.value));
    const dateOrder = select([["DMY", "Day first: DD/MM/YYYY"], ["MDY", "Month first: MM/DD/YYYY"]], draft.dateOrder);
    dateOrder.addEventListener("change", () => (draft.dateOrder = dateOrder.value));
    const country = h("input", { type: "text", value: draft.country, maxlength: "2", size: "4", autocomplete: "off" });
    country.addEventListener("input", () => (draft.country = country.value));

    const result = h("div", { "aria-live": "polite" });
    const confirm = h("button", { type: "submit" }, "Start import");
    const file = fileFlow();
    const { mapping, custom_attributes: custom } = file && !jsonFile() ? startColumns(draft) : { mapping: {}, custom_attributes: {} };
    const summary = h(
      "dl",
      { class: "summary" },
      h("dt", {}, "Source"),
      h("dd", {}, file ? draft.upload.file_name || "uploaded file" : REMOTE_NAMES[draft.method]),
      h("dt", {}, "Import as"),
      h("dd", {}, draft.kind === "users" ? "Users" : "Leads"),
      file && jsonFile() ? [h("dt", {}, "Columns"), h("dd", {}, "Mapped automatically from the Mixpanel properties")] : null,
      file && !jsonFile()
        ? [
            h("dt", {}, "Columns"),
            h(
              "dd",
              {},
              h(
                "ul",
                {},
                Object.entries(mappingLabels())
                  .filter(([key]) => mapping[key])
                  .map(([key, text]) => h("li", {}, `${text} ← ${mapping[key]}`)),
                Object.entries(custom).map(([column, name]) => h("li", {}, `Custom attribute “${name}” ← ${column}`)),
              ),
            ),
          ]
        : null,
    );

    body.append(
      h("h2", { tabindex: "-1" }, "Tag and confirm"),
      h(
        "form",
        {
          novalidate: true,
          onsubmit: async (event) => {
            event.preventDefault();
            clear(result);
            confirm.disabled = true;
            try {
              const started = file ? await startFile() : await startRemote(draft);
              draft = fresh();
              ctx.navigate(`/imports/${encodeURIComponent(started.id)}`);
            } catch (error) {
              if (!file && isUnavailable(error)) {
                result.append(errorBox({ message: unavailable(`${REMOTE_NAMES[draft.method]} import is`) }, "The import did not start"));
              } else {
                result.append(errorBox(error, "The import did not start"));
              }
              result.querySelector("[role=alert]")?.scrollIntoView({ block: "nearest" });
              confirm.disabled = false;
            }
          },
        },
        field("Tag", tag, { hint: "Every imported person gets this tag, e.g. New Sign-Ups 2015." }).wrap,
        h(
          "div",
          { class: "switch-field" },
          trigger,
          h("label", { for: "trigger-messages" }, "Trigger live messages"),
        ),
        liveList,
        file
          ? h(
              "details",
              {},
              h("summary", {}, "More options"),
              field("Blank cells", blank).wrap,
              field("Dates like 03/04/2015", dateOrder).wrap,
              field("Default country for phone numbers", country, { hint: "Two letters, e.g. GB; used when a number has no country code." }).wrap,
            )
          : null,
        summary,
        result,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "secondary", onclick: () => go(!file ? "source" : jsonFile() ? "preview" : "mapping") }, "Back"),
          confirm,
        ),
      ),
    );
  }

  async function startFile() {
    const path = `/api/imports/${encodeURIComponent(draft.upload.id)}/start`;
    if (jsonFile()) {
      return api("POST", path, {
        kind: draft.kind,
        tag: draft.tag.trim() || null,
        trigger_messages: draft.trigger,
        blank_values: draft.blank,
        date_order: draft.dateOrder,
        default_country: draft.country.trim() || null,
      });
    }
    const detected = draft.upload.detected || {};
    const body = {
      kind: draft.kind,
      ...startColumns(draft),
      tag: draft.tag.trim() || null,
      trigger_messages: draft.trigger,
      blank_values: draft.blank,
      date_order: draft.dateOrder,
      default_country: draft.country.trim() || null,
    };
    if (draft.encoding !== detected.encoding) body.encoding = draft.encoding;
    if (draft.delimiter !== detected.delimiter) body.delimiter = draft.delimiter;
    return api("POST", path, body);
  }

  show();
}
