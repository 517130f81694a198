// The wizard's last step for a file: a dry run of the import (SPEC §6.1) and its preview — the
// results, problems by cause, fields, the live messages with a switch each (SPEC §6.2), the
// failed rows and a sample of the changes — then "Import", which commits it with the same body.

import { api } from "./api.js";
import { clear, errorBox, h, notice } from "./dom.js";
import { watchImport } from "./imports.js";
import { messageReach, previewSections } from "./summary.js";

/**
 * Start a dry run of the draft's upload with `body` (what start would get); rejects with the
 * API's error. The draft remembers the body, so the preview knows when it no longer matches.
 */
export async function startPreview(draft, body) {
  await api("POST", `/api/imports/${encodeURIComponent(draft.upload.id)}/dry-run`, body);
  draft.previewOf = JSON.stringify(body);
}

/**
 * The review step in `container`: follows the dry run, then shows its preview. `body()` is the
 * start body as the draft has it now; `back()` returns to the options; `fix(target)` opens the
 * control that answers a problem ("country", "invalid", "mapping"), or starts over ("restart");
 * `start()` commits (it resolves once the import is queued, rejects with the API's error).
 */
export function reviewStep(draft, { container, body, back, fix, start }) {
  const slot = h("div", { class: "review" });
  const result = h("div", { "aria-live": "polite" });
  container.append(h("h2", { tabindex: "-1" }, "Review the changes"), slot, result);
  const stopped = () => !container.isConnected;
  const fileName = draft.upload.file_name || "this file";

  const progress = h("progress", { id: "preview-progress", max: "100", value: "0" });
  const percent = h("span", { class: "percent", "data-testid": "preview-percent" }, "0 %");
  slot.append(
    h("div", { class: "progress-line" }, h("label", { for: "preview-progress" }, "Checking the rows"), progress, percent),
    h("p", { class: "hint" }, `Every row of ${fileName} is checked against your workspace as it is now. Nothing is imported yet.`),
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: back }, "Back")),
  );

  const actionFor = (problem) => {
    const button = (text, target) => h("button", { type: "button", class: "secondary small", onclick: () => fix(target) }, text);
    if (problem.cause === "phone.no_country") {
      return h(
        "p",
        { class: "fix-actions" },
        button("Choose a default country", "country"),
        draft.invalid === "fail_record" ? button("Import them without the phone number", "invalid") : null,
      );
    }
    const optional = problem.fix && problem.fix.includes("skip_value");
    if (optional && problem.level === "error" && draft.invalid === "fail_record") {
      return h("p", { class: "fix-actions" }, button("Import them without the invalid value", "invalid"));
    }
    if (["email.invalid", "email.missing", "identity.no_key"].includes(problem.cause) && draft.source !== "mixpanel_file") {
      return h("p", { class: "fix-actions" }, button("Change the columns", "mapping"));
    }
    return null;
  };

  const show = (imp) => {
    clear(slot);
    if (imp.status !== "previewed") {
      // A failed run is final: this upload cannot be run again.
      slot.append(
        errorBox({ message: imp.error || `The preview ended ${imp.status}.` }, "The preview could not be made"),
        h("p", {}, "This upload can no longer be imported. Start over and upload the file again."),
        h("div", { class: "actions" }, h("button", { type: "button", onclick: () => fix("restart") }, "Start over")),
      );
      return;
    }
    const stale = h("div", { class: "stale", role: "status" });
    const update = h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async () => {
          update.disabled = true;
          clear(result);
          try {
            await startPreview(draft, body());
            clear(container);
            reviewStep(draft, { container, body, back, fix, start });
            container.querySelector("h2")?.focus();
          } catch (error) {
            result.append(errorBox(error, "The preview could not be updated"));
            update.disabled = false;
          }
        },
      },
      "Update preview",
    );
    const drawStale = () => {
      clear(stale);
      if (JSON.stringify(body()) === draft.previewOf) return;
      stale.append(
        h("p", {}, "You changed which messages this import may send. The numbers above were counted before that change."),
        update,
      );
    };
    const messages = h(
      "div",
      { class: "live-messages" },
      messageReach(imp, {
        sending: (id) => !draft.suppress.includes(id),
        onToggle: (id, send) => {
          draft.suppress = send ? draft.suppress.filter((m) => m !== id) : [...draft.suppress, id];
          drawStale();
        },
      }),
      stale,
    );
    const commit = h(
      "button",
      {
        type: "button",
        onclick: async () => {
          commit.disabled = true;
          clear(result);
          try {
            await start();
          } catch (error) {
            result.append(errorBox(error, "The import did not start"));
            result.querySelector("[role=alert]")?.scrollIntoView({ block: "nearest" });
            commit.disabled = false;
          }
        },
      },
      "Import",
    );
    slot.append(
      notice(`Nothing has been imported yet. This is what importing ${fileName} would do to your workspace now.`),
      previewSections(imp, { action: actionFor, messages }),
      result,
      h("div", { class: "actions sticky" }, h("button", { type: "button", class: "secondary", onclick: back }, "Back"), commit),
    );
    drawStale();
  };

  watchImport(draft.upload.id, {
    isStopped: stopped,
    onState: (imp) => {
      clear(result);
      const value = imp.status === "previewed" ? 100 : Math.floor((imp.progress || 0) * 100);
      progress.value = value;
      progress.setAttribute("aria-valuetext", `${value} percent`);
      percent.textContent = `${value} %`;
    },
    onError: (error) => clear(result).append(errorBox(error, "The preview could not be followed; retrying")),
  }).then((imp) => {
    if (imp && !stopped()) show(imp);
  });
}
