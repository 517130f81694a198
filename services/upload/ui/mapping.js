// The wizard's mapping step: the columns for the standard fields (the phone column with its
// default country), then every other column as a custom attribute (attributes.js), with each
// picked column's first values checked inline (samples.js). What it starts with is the
// server's offer for the upload (SPEC §6.5): the mapping, attributes and options of the last
// import of the same header set ("remembered", which "Start fresh" leaves), else a suggestion
// from the columns and their values, every other column ticked, and the default options.

import { attributeBox, chosenAttributes, defaultAttributes } from "./attributes.js";
import { countryName, countrySelect } from "./countries.js";
import { clear, field, h, select, uid } from "./dom.js";
import { extra, mappableFields, mappingLabels } from "./meta.js";
import { checkSample, countryCodes, sampleValues, sharedColumns } from "./samples.js";

const HINTS = {
  email: "Every record needs an email address.",
  name: "A full name, or the first name when a Last name column is picked.",
  name_last: "Added after the first name: Emma + Lee make “Emma Lee”.",
  tags: "A column of tag names, separated by commas.",
  signed_up_at: "DD/MM/YYYY, ISO 8601 or Unix time.",
  last_seen_at: "DD/MM/YYYY, ISO 8601 or Unix time.",
  phone: "With its country code (+…), or choose the country of those without one below.",
};

/**
 * Set the draft's mapping, attributes and options from its upload: the remembered mapping's
 * when the upload has one (and `remembered` is not false), else the fresh suggestion's, the
 * kind chosen on the first step and the default options.
 */
export function initMapping(draft, { remembered = true } = {}) {
  const upload = draft.upload;
  const earlier = remembered && upload.mapping_source === "remembered" ? upload.remembered : null;
  draft.usingRemembered = Boolean(earlier);
  const offered = earlier ? upload.suggested_mapping : upload.fresh_mapping || upload.suggested_mapping;
  const known = new Set(draft.columns);
  const mapping = {};
  for (const [key, column] of Object.entries(offered || {})) {
    if (known.has(column)) mapping[key] = column;
  }
  const options = earlier?.options || {};
  draft.kind = options.kind || draft.chosenKind || draft.kind;
  draft.blank = options.blank_values || "clear";
  draft.dateOrder = options.date_order || upload.detected?.date_order || "DMY";
  draft.country = (options.default_country || "").toUpperCase();
  if (draft.kind === "leads") delete mapping.user_id;
  draft.mapping = mapping;
  draft.attributes = defaultAttributes(draft, earlier);
}

/** "1 December 2026": the day of an ISO time, in the browser's language. */
function day(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleDateString(undefined, { dateStyle: "long" });
}

/** The options a remembered mapping brought, as one line. */
function optionsLine(draft) {
  return [
    `import as ${draft.kind === "leads" ? "leads" : "users"}`,
    draft.blank === "ignore" ? "blank cells keep the current value" : "blank cells clear the field",
    draft.dateOrder === "MDY" ? "dates month first (MM/DD/YYYY)" : "dates day first (DD/MM/YYYY)",
    draft.country ? `numbers without a country code are ${countryName(draft.country)} numbers` : "no default country for phone numbers",
  ].join("; ");
}

/** What the mapping step started from, and the way to the other offer. */
function sourceBanner(draft, switchTo) {
  const earlier = draft.upload.mapping_source === "remembered" ? draft.upload.remembered : null;
  if (!earlier) return null;
  const when = day(earlier.used_at);
  const file = earlier.file_name ? ` (${earlier.file_name})` : "";
  if (draft.usingRemembered) {
    return h(
      "div",
      { class: "alert info mapping-source", role: "status", "data-testid": "mapping-source" },
      h("p", {}, h("strong", {}, `Using the mapping from your import of ${when}`), `${file}.`),
      h("p", {}, `Its columns, custom attributes and options are chosen below: ${optionsLine(draft)}.`),
      h(
        "p",
        { class: "banner-actions" },
        h("button", { type: "button", class: "secondary small", id: "start-fresh", onclick: () => switchTo(false) }, "Start fresh"),
      ),
    );
  }
  return h(
    "div",
    { class: "alert info mapping-source", role: "status", "data-testid": "mapping-source" },
    h(
      "p",
      {},
      "Started fresh: the columns are matched from their headers and first values, every other column is ticked, with the default options.",
    ),
    h(
      "p",
      { class: "banner-actions" },
      h(
        "button",
        { type: "button", class: "secondary small", id: "use-remembered", onclick: () => switchTo(true) },
        `Use the mapping from ${when}${file} again`,
      ),
    ),
  );
}

/** The standard fields offered, in order: Last name after Name, Tags last. */
function offeredFields() {
  const fields = mappableFields();
  const name = fields.findIndex(([key]) => key === "name");
  fields.splice(name + 1, 0, extra("name_last"));
  fields.push(["tags", mappingLabels().tags]);
  return fields;
}

export function mappingStep(draft, { container, next, back }) {
  const values = (column) => sampleValues(draft.columns, draft.preview, column);
  const sample = (column) => {
    const [value] = values(column);
    return value ? `Example: ${value}` : "";
  };
  const fieldErrors = {};
  const attributeSlot = h("div");
  const summary = h("div", { "aria-live": "polite" });
  const continueButton = h("button", { type: "button", onclick: () => onContinue() }, "Continue");
  const blocked = h("div", { "aria-live": "polite" });
  let wasBlocked = false; // whether the columns' errors keep Continue disabled
  let emailAsked = false; // then "Select the column …" stays until the Email field changes
  let attributes = { check: () => 0 };

  const switchTo = (remembered) => {
    initMapping(draft, { remembered });
    clear(container);
    mappingStep(draft, { container, next, back });
    container.querySelector(remembered ? "#start-fresh" : "#use-remembered")?.focus();
  };

  // The default country, beside the phone column: one value (draft.country) for the import.
  const country = countrySelect(draft.country, { none: "None chosen" });
  country.id = "default-country";
  const countryCount = h("p", { class: "hint", id: "default-country-count", "aria-live": "polite" });
  country.setAttribute("aria-describedby", countryCount.id);
  const countryBox = h(
    "div",
    { class: "phone-country" },
    h("label", { for: "default-country" }, "Default country for phone numbers"),
    country,
    countryCount,
  );
  const drawCountry = () => {
    const column = draft.mapping.phone;
    countryBox.hidden = !column;
    if (!column) return;
    const { numbers, national } = countryCodes(values(column));
    const of = `${national} of ${numbers} ${numbers === 1 ? "number has" : "numbers have"} no country code`;
    countryCount.textContent = !numbers
      ? "Used for numbers written without a country code."
      : !national
        ? `Every number in the first rows has a country code (${numbers} of ${numbers}).`
        : draft.country
          ? `${of}: they are read as ${countryName(draft.country)} numbers, and one not valid there is refused.`
          : `${of}: choose their country.`;
    countryCount.classList.toggle("warning", national > 0 && !draft.country);
  };
  country.addEventListener("change", () => {
    draft.country = country.value;
    drawCountry();
  });

  const standard = h("fieldset", { class: "mapping" }, h("legend", {}, "Standard fields"));
  for (const [key, text] of offeredFields()) {
    const control = select([["", "Select this column"], ...draft.columns], draft.mapping[key] || "");
    control.id = `map-${key}`;
    const leadsId = key === "user_id" && draft.kind === "leads";
    if (leadsId) control.disabled = true;
    const example = h("span", { class: "sample" }, sample(draft.mapping[key]));
    const hint = leadsId ? "Leads have no user ID: import as users to set one." : HINTS[key] || null;
    const { wrap } = field(text, control, { hint, required: key === "email" });
    const warning = h("p", { class: "field-error warning", id: uid("warn") });
    const error = h("p", { class: "field-error", id: uid("err") });
    const described = [control.getAttribute("aria-describedby"), warning.id, error.id];
    control.setAttribute("aria-describedby", described.filter(Boolean).join(" "));
    fieldErrors[key] = { control, warning, error };
    control.addEventListener("change", () => {
      if (control.value) draft.mapping[key] = control.value;
      else delete draft.mapping[key];
      example.textContent = sample(control.value);
      if (key === "email") emailAsked = false;
      if (key === "phone") drawCountry();
      checkColumns();
      attributes = attributeBox(draft, attributeSlot, { sample });
    });
    wrap.append(example, warning, error);
    if (key === "phone") wrap.append(countryBox);
    standard.append(wrap);
  }

  // The picked columns against their first values, and one column picked for two fields: an
  // error (the server refuses to start) blocks Continue until it is fixed; a warning does not.
  const checkColumns = () => {
    const mapping = startColumns(draft).mapping;
    const shared = sharedColumns(mapping, mappingLabels());
    let errors = 0;
    for (const [key, { control, warning, error }] of Object.entries(fieldErrors)) {
      const column = mapping[key];
      const found = column ? checkSample(key, column, values(column)) : null;
      const problem = [shared[key], found?.error].filter(Boolean).join(" ");
      warning.textContent = found?.warning || "";
      if (key === "email" && !column && emailAsked) continue;
      error.textContent = problem;
      if (problem) {
        errors += 1;
        control.setAttribute("aria-invalid", "true");
      } else {
        control.removeAttribute("aria-invalid");
      }
    }
    continueButton.disabled = errors > 0;
    if ((errors > 0) !== wasBlocked) {
      wasBlocked = errors > 0;
      clear(blocked);
      if (wasBlocked) blocked.append(h("div", { class: "alert error" }, "Fix the columns marked above before you continue."));
    }
    return errors;
  };

  attributes = attributeBox(draft, attributeSlot, { sample });
  drawCountry();
  checkColumns();
  const onContinue = () => {
    clear(summary);
    const email = fieldErrors.email;
    if (!draft.mapping.email) {
      emailAsked = true;
      email.error.textContent = "Select the column that holds email addresses.";
      email.control.setAttribute("aria-invalid", "true");
      email.control.focus();
      return;
    }
    if (checkColumns()) {
      standard.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    if (attributes.check()) {
      summary.append(
        h("div", { class: "alert error", role: "alert" }, "Fix the custom attributes marked above before you continue."),
      );
      (attributeSlot.querySelector("[aria-invalid=true]") || attributeSlot.querySelector(".field-error:not(:empty)"))?.focus?.();
      return;
    }
    next();
  };
  container.append(
    h("h2", { tabindex: "-1" }, "Match the columns"),
    sourceBanner(draft, switchTo) || h("p", {}, "We pre-filled the columns we recognised. Select this column for each field that your file has."),
    standard,
    attributeSlot,
    summary,
    blocked,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: back }, "Back"), continueButton),
  );
}

/** The start request's column choices: {mapping, custom_attributes, attribute_types}. */
export function startColumns(draft) {
  const mapping = { ...draft.mapping };
  if (draft.kind === "leads") delete mapping.user_id;
  return { mapping, ...chosenAttributes(draft) };
}
