// The import wizard: method and kind → file (drag and drop, upload progress) or credentials →
// preview (preview.js) → columns (mapping.js) → tag, live messages and confirm (options.js) →
// for a file, the review of a dry run's changes (review.js) before importing.
//
// Each step has its own address, so the browser's Back and Forward move between steps and a
// reload stays on the step: #/import (method), #/import/csv (or mailchimp, mixpanel: the file
// or the credentials), #/import/mailchimp/options (a remote source's options), and for an
// uploaded file #/import/<import id>/preview, …/columns, …/options, …/review. The upload is
// the server's (GET /api/imports/{id} rebuilds the step); the choices made are kept for the tab
// (drafts.js). An address of an import started already, or of none, says so with a link.

import { api } from "./api.js";
import { append, clear, h, notice, radios } from "./dom.js";
import { SOURCE_METHOD, closedReason, draftOf, forgetDraft, loadDraft, resumeAt, saveDraft, setResume, withKept } from "./drafts.js";
import { sourceName } from "./imports.js";
import { mappingStep, startColumns } from "./mapping.js";
import { optionsStep } from "./options.js";
import { previewStep, readAs } from "./preview.js";
import { REMOTE_NAMES, remoteForm, startRemote } from "./remote.js";
import { reviewStep, startPreview } from "./review.js";
import { uploadStep } from "./upload_step.js";

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
// A file's steps in its address (#/import/<import id>/<part>).
const PARTS = { preview: "preview", mapping: "columns", options: "options", review: "review" };
const STEP_OF = Object.fromEntries(Object.entries(PARTS).map(([step, part]) => [part, step]));
const REMOTE = ["mailchimp", "mixpanel"];

let draft = fresh();
let focusNext = null; // {address, selector}: what a step change focuses on the step it opens
let sourceNotice = null; // said once on the source step (credentials to enter again)
let started = false; // whether this page has shown the wizard yet (else: a reload, a new tab)

window.addEventListener("pagehide", () => saveDraft(draft));

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

/** A new draft that keeps the first step's choices of `from` (another file is a new import). */
function freshFrom(from) {
  return { ...fresh(), method: from.method, kind: from.chosenKind, chosenKind: from.chosenKind, mode: from.mode };
}

/** What an address names: {step, method} or {step, id}; null for none of the wizard's. */
function addressed(params) {
  const [first, second] = params;
  if (first === undefined) return { step: "method" };
  if (second === undefined && METHODS.some(([m]) => m === first)) return { step: "source", method: first };
  if (second === "options" && REMOTE.includes(first)) return { step: "options", method: first };
  if (second === undefined && first.startsWith("imp_")) return { step: null, id: first };
  if (STEP_OF[second] && first.startsWith("imp_")) return { step: STEP_OF[second], id: first };
  return null;
}

/** A Mixpanel people export: JSON, mapped by the server's rules (no column step). */
function jsonFile() {
  return draft.source === "mixpanel_file";
}

function fileFlow() {
  return draft.method === "csv" || draft.mode === "file";
}

export async function importWizard(ctx) {
  const container = h("div", { class: "wizard" });
  const restart = h("div", { class: "head-actions" });
  ctx.main.append(h("div", { class: "page-head" }, h("h1", {}, "Import people"), restart), container);
  // Every choice is kept for the tab as it is made (the controls change the draft first).
  for (const type of ["input", "change", "click"]) container.addEventListener(type, () => saveDraft(draft));

  /** The address of `step` for the draft. */
  function addressOf(step) {
    if (step === "method") return "/import";
    if (step === "source") return `/import/${draft.method}`;
    if (!fileFlow()) return `/import/${draft.method}/options`;
    return `/import/${encodeURIComponent(draft.upload.id)}/${PARTS[step]}`;
  }

  /** Go to `step` (a new address, so Back returns here), with the focus on its heading, or
   * on the control `focus` selects. */
  function go(step, focus) {
    saveDraft(draft);
    const address = addressOf(step);
    focusNext = { address, selector: focus || "h2" };
    ctx.navigate(address);
  }

  /** Show the step of this address instead, without a history entry for this one. */
  function redirect(step) {
    draft.step = step;
    history.replaceState(null, "", `#${addressOf(step)}`);
    show();
  }

  /** The page for an address that names no step the wizard can show. */
  function dead(title, sentence, links) {
    clear(container).append(
      h(
        "section",
        { class: "card", "data-testid": "wizard-dead-end" },
        h("h2", { tabindex: "-1" }, title),
        notice(sentence),
        h("p", { class: "actions left" }, links),
      ),
    );
  }

  const where = addressed(ctx.params);
  if (where === null) {
    dead("There is no such step", "This address is not a step of the import wizard.", [
      h("a", { class: "button", href: "#/import" }, "Import people"),
    ]);
    return;
  }
  if (where.id !== undefined) {
    if (!(await openUpload(where.id))) return;
  } else {
    if (!started) draft = withKept(loadDraft("new"), fresh()); // a reload: the tab's first choices
    if (where.method && where.method !== draft.method) {
      draft.method = where.method;
      draft.mode = "api";
    }
    if (where.step === "options" && !hasCredentials()) {
      sourceNotice = "The credentials are not kept when the page is reloaded: enter them again.";
      started = true;
      redirect("source");
      return;
    }
  }
  started = true;
  draft.step = where.step;
  show();

  /** The upload `id` as the draft to show (the one in memory, else the tab's kept choices over
   * the server's description); false when its address shows a message instead. */
  async function openUpload(id) {
    let imp;
    try {
      imp = await api("GET", `/api/imports/${encodeURIComponent(id)}`);
    } catch (error) {
      if (error.status !== 404) throw error;
      forgetDraft(id);
      dead(
        "There is no such upload",
        `No import “${id}” exists in this workspace: it was deleted, or it expired (an upload that is never started is deleted after a while).`,
        [h("a", { class: "button", href: "#/import" }, "Upload a file")],
      );
      return false;
    }
    const closed = closedReason(imp, sourceName);
    if (closed) {
      forgetDraft(id);
      const [href, text] = closed.link;
      dead(closed.title, closed.sentence, [
        h("a", { class: "button", href }, text),
        SOURCE_METHOD[imp.source] ? h("a", { class: "button secondary", href: "#/import" }, "Upload a file") : null,
      ]);
      return false;
    }
    if (draft.upload?.id !== id) {
      // The workspace's attributes, which the columns step offers.
      const listing = await api("GET", "/api/attributes").then(
        (page) => ({ existing: page.data, error: "" }),
        (error) => ({ existing: null, error: error.message }),
      );
      if (!ctx.main.isConnected) return false; // another address was opened meanwhile
      const opened = draftOf(imp, fresh(), listing);
      draft = opened.draft;
      if (opened.fromOptions) draft.previewOf = JSON.stringify(fileBody());
    }
    if (where.step === null) {
      const last = loadDraft(id)?.step;
      where.step = PARTS[last] ? last : imp.status === "uploaded" ? "preview" : "review";
    }
    // A review needs a dry run; a Mixpanel export has no columns to match.
    if (where.step === "review" && imp.status === "uploaded") where.step = "options";
    if (where.step === "mapping" && jsonFile()) where.step = "options";
    if (ctx.params[1] !== PARTS[where.step]) history.replaceState(null, "", `#/import/${encodeURIComponent(id)}/${PARTS[where.step]}`);
    return true;
  }

  function hasCredentials() {
    const r = draft.remote;
    const filled = (key) => Boolean(r[key] && String(r[key]).trim());
    return draft.method === "mailchimp"
      ? filled("api_key") && filled("list_id")
      : filled("project_id") && filled("service_account_username") && filled("service_account_secret");
  }

  function show() {
    clear(container);
    clear(restart);
    if (draft.step !== "method") {
      const again = () => {
        draft = fresh();
        setResume(null);
        go("method");
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
              forgetDraft(draft.upload.id);
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
    const label = (STEPS.find(([key]) => key === draft.step) || [])[1];
    document.title = `${label} · Import people · Usher`;
    saveDraft(draft);
    if (fileFlow() && draft.upload && draft.step !== "source") {
      setResume({ id: draft.upload.id, address: addressOf(draft.step), file: draft.upload.file_name || "" });
    }
    // The step's heading (or the control asked for) takes the focus when a step change opened
    // it, and on every step but the first when the address was reached otherwise (Back, a
    // reload): the page's heading is then the first one's.
    const address = addressOf(draft.step);
    const wanted = focusNext && focusNext.address === address ? focusNext.selector : draft.step !== "method" ? "h2" : null;
    focusNext = null;
    const target = wanted && (container.querySelector(wanted) || container.querySelector("h2"));
    const folded = target?.closest("details");
    if (folded) folded.open = true;
    target?.focus();
  }

  /** A first step's choice: the draft of an upload it was for is left as kept (Forward finds
   * it), and a new one begins. */
  function choose(changes) {
    if (draft.upload) draft = freshFrom(draft);
    Object.assign(draft, changes);
  }

  function methodStep(body) {
    const resume = resumeAt();
    append(body, [
      h("h2", { tabindex: "-1" }, "How do you want to import?"),
      resume
        ? h(
            "div",
            { class: "alert info", role: "status", "data-testid": "resume" },
            h("p", {}, `You have not finished importing ${resume.file || "an uploaded file"}. `, h("a", { href: `#${resume.address}` }, "Continue where you left off")),
          )
        : null,
      h("fieldset", {}, h("legend", {}, "Import from"), radios("method", METHODS, draft.method, (v) => choose({ method: v }))),
      h("fieldset", {}, h("legend", {}, "Import them as"), radios("kind", KINDS, draft.chosenKind, (v) => choose({ kind: v, chosenKind: v }))),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => go("source") }, "Continue")),
    ]);
  }

  function fileStep(body) {
    uploadStep(draft, {
      container: body,
      header: draft.method !== "csv" ? modeSwitch() : null,
      continueAt: draft.upload ? `#${addressOf("preview")}` : null,
      back: () => go("method"),
      uploaded: (upload, source, listing) => {
        draft = freshFrom(draft); // another file: a new import, with the first step's choices
        draft.existing = listing.existing;
        draft.existingError = listing.error;
        draft.source = upload.source || source;
        draft.sniffed = upload.detected || null;
        readAs(draft, upload);
        go("preview");
      },
    });
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
          saveDraft(draft);
          show();
          container.querySelector(`input[name=mode][value=${value}]`)?.focus();
        },
      ),
    );
  }

  function remoteStep(body) {
    const said = sourceNotice ? notice(sourceNotice) : null;
    sourceNotice = null;
    const header = said ? h("div", {}, said, modeSwitch()) : modeSwitch();
    remoteForm(draft, body, { header, back: () => go("method"), next: () => go("options") });
  }

  /** Start the import (the draft's file with its body, or its remote source) and follow it on
   * its own page; rejects with the API's error. */
  async function commit() {
    const queued = fileFlow()
      ? await api("POST", `/api/imports/${encodeURIComponent(draft.upload.id)}/start`, fileBody())
      : await startRemote(draft);
    if (fileFlow()) forgetDraft(draft.upload.id);
    draft = fresh();
    saveDraft(draft);
    ctx.navigate(`/imports/${encodeURIComponent(queued.id)}`);
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
}
