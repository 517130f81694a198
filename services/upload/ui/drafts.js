// The import wizard's draft, kept for the browser tab (sessionStorage), so that Back, Forward
// and Reload find a file's columns and options as the user left them. One entry per uploaded
// import ("usher.wizard.<import id>": going back to an older upload finds its own choices), one
// for the choices made before a file is uploaded ("usher.wizard.new"), and the address of the
// step last shown ("usher.wizard.resume"). The upload itself is the server's (GET
// /api/imports/{id}: its columns, first rows and detection), and so is whether its wizard can
// go on; credentials are never kept.

import { defaultAttributes } from "./attributes.js";
import { fmtDate } from "./dom.js";
import { readAs } from "./preview.js";

const PREFIX = "usher.wizard.";
const RESUME = `${PREFIX}resume`;
// What the user chose; everything else comes from the server again.
const KEPT = [
  "step",
  "method",
  "kind",
  "chosenKind",
  "mode",
  "source",
  "sniffed",
  "columns",
  "mapping",
  "attributes",
  "usingRemembered",
  "tag",
  "trigger",
  "blank",
  "dateOrder",
  "country",
  "invalid",
  "suppress",
  "previewOf",
];
const SECRETS = ["api_key", "service_account_secret"];
// The wizard's method for each file source.
export const SOURCE_METHOD = { csv: "csv", mailchimp_csv: "mailchimp", mixpanel_file: "mixpanel" };

function write(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or refused: the draft lives in this page's memory only.
  }
}

function read(key) {
  try {
    const text = sessionStorage.getItem(key);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Keep `draft` for the tab: under its upload's id, or as the new draft before an upload. */
export function saveDraft(draft) {
  const kept = {};
  for (const key of KEPT) kept[key] = draft[key];
  kept.remote = Object.fromEntries(Object.entries(draft.remote || {}).filter(([key]) => !SECRETS.includes(key)));
  write(PREFIX + (draft.upload ? draft.upload.id : "new"), kept);
}

/** The choices kept for import `id` (or "new"), or null. */
export function loadDraft(id) {
  return read(PREFIX + id);
}

/** Forget the choices of import `id` (started: they live in the import now). */
export function forgetDraft(id) {
  write(PREFIX + id, null);
  if (resumeAt()?.id === id) write(RESUME, null);
}

/** Remember the step shown last ({id, address, file}), to offer to continue it. */
export function setResume(resume) {
  write(RESUME, resume);
}

/** The step shown last ({id, address, file}), or null. */
export function resumeAt() {
  return read(RESUME);
}

/** `choices` kept for the tab over the draft `base`. */
export function withKept(choices, base) {
  if (!choices) return base;
  return { ...base, ...choices, remote: { ...base.remote, ...(choices.remote || {}) } };
}

/**
 * Why the wizard cannot go on with import `imp` ({title, sentence, link: [href, text]}), or
 * null: it can while the upload was never started, or is a dry run's (running, or previewed).
 */
export function closedReason(imp, sourceName) {
  const href = `#/imports/${encodeURIComponent(imp.id)}`;
  const file = imp.file_name || "this file";
  if (!SOURCE_METHOD[imp.source]) {
    return {
      title: "This is not a file upload",
      sentence: `This import brings people from ${sourceName(imp.source)}: it has no columns to match.`,
      link: [href, "See the import"],
    };
  }
  const dryRunning = imp.dry_run && (imp.status === "queued" || imp.status === "processing");
  if (imp.status === "uploaded" || imp.status === "previewed" || dryRunning) return null;
  if (imp.dry_run && imp.status === "failed") {
    return {
      title: "The preview of this upload failed",
      sentence: `The preview of ${file} failed, so this upload can no longer be imported. Upload the file again.`,
      link: [href, "See the preview"],
    };
  }
  return {
    title: "This import was started already",
    sentence: `The import of ${file} was started on ${fmtDate(imp.started_at || imp.created_at)}: its columns and options can no longer change. To import the file again, upload it again.`,
    link: [href, "See the import"],
  };
}

/**
 * The draft of upload `imp` over `base` (a fresh draft): the tab's kept choices if any, else
 * what its dry run was started with (`imp.options`), else the server's offer (mapping.js).
 * `listing` is the workspace's attributes ({existing, error}). Returns {draft, fromOptions}.
 */
export function draftOf(imp, base, listing) {
  const choices = loadDraft(imp.id);
  const method = SOURCE_METHOD[imp.source];
  const draft = withKept(choices, base);
  // What the upload is decides these, whatever the tab kept.
  Object.assign(draft, { method, mode: method === "csv" ? "api" : "file", source: imp.source });
  draft.sniffed = draft.sniffed || imp.detected || null;
  draft.existing = listing.existing;
  draft.existingError = listing.error;
  readAs(draft, imp, { reread: Boolean(choices) });
  const fromOptions = !choices && Boolean(imp.options);
  if (fromOptions) chooseAsStarted(draft, imp.options);
  return { draft, fromOptions };
}

/** The draft's choices from the options an import was started (or previewed) with. */
function chooseAsStarted(draft, options) {
  draft.kind = draft.chosenKind = options.kind || draft.kind;
  if (draft.source !== "mixpanel_file") {
    const known = new Set(draft.columns);
    draft.mapping = Object.fromEntries(Object.entries(options.mapping || {}).filter(([, column]) => known.has(column)));
    draft.attributes = defaultAttributes(draft, {
      custom_attributes: options.custom_attributes || {},
      attribute_types: options.attribute_types || {},
    });
    draft.usingRemembered = false;
  }
  draft.tag = options.tag || "";
  draft.trigger = options.trigger_messages !== false;
  draft.blank = options.blank_values || draft.blank;
  draft.dateOrder = options.date_order || draft.dateOrder;
  draft.country = (options.default_country || "").toUpperCase();
  draft.invalid = options.invalid_values || draft.invalid;
  draft.suppress = options.suppress_messages || [];
}
