// The wizard's file step: a file dragged and dropped or chosen, uploaded with its progress
// (POST /api/imports, api.js uploadFile), the workspace's attributes listed meanwhile (the
// columns step offers them). `uploaded(upload, source, {existing, error})` takes the answer;
// `continueAt`, when the draft has an upload already, is the address of its preview.

import { api, uploadFile } from "./api.js";
import { append, clear, errorBox, h } from "./dom.js";

export function uploadStep(draft, { container, header, continueAt, back, uploaded }) {
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
      const upload = await uploadFile(file, source, onProgress);
      uploaded(upload, source, await listed);
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
  append(container, [
    h("h2", { tabindex: "-1" }, heading),
    header,
    // Back from the preview: the file uploaded is still there, a new one replaces it.
    continueAt
      ? h(
          "div",
          { class: "alert info", role: "status", "data-testid": "uploaded-already" },
          h("p", {}, `${draft.upload.file_name || "A file"} is uploaded. `, h("a", { href: continueAt }, "Continue with it"), ", or upload another file."),
        )
      : null,
    zone,
    progressBox,
    result,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: back }, "Back")),
  ]);
}
