// The wizard's file steps: the preview (encoding and delimiter changeable) and the mapping of
// columns to standard fields and named custom attributes, with the naming rules and each picked
// column's first values (samples.js) checked inline.

import { readPreview } from "./csv.js";
import { append, clear, field, h, select, uid } from "./dom.js";
import { extra, mappableFields, mappingLabels, meta, reservedNames } from "./meta.js";
import { checkSample, sampleValues, sharedColumns } from "./samples.js";

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

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Every problem with `name` as a custom attribute name; `others` are the import's other names. */
export function attributeProblems(name, others) {
  const max = meta.attribute_name.max_length;
  if (!name) return [`Give the attribute a name (1 to ${max} characters).`];
  const problems = [];
  const length = [...name].length;
  if (length > max) problems.push(`The name is ${length} characters long: at most ${max} are allowed.`);
  for (const ch of meta.attribute_name.forbidden) {
    if (name.includes(ch)) problems.push(`The name contains “${ch}”, which is not allowed: use “_” or “-”.`);
  }
  if (CONTROL.test(name)) problems.push("The name contains a control character such as a tab or line break.");
  if (name.trim() !== name) problems.push("The name starts or ends with a space: remove it.");
  if (reservedNames().has(name.trim().toLowerCase())) {
    problems.push(`“${name.trim()}” is a standard field: map the column to that field or rename it.`);
  }
  if (others.some((other) => other.toLowerCase() === name.toLowerCase())) {
    problems.push("Another column already uses this name (names are compared ignoring case).");
  }
  return problems;
}

function suggestName(column) {
  const name = column.replace(/[.$]/g, "_").replace(CONTROL, "").trim().slice(0, meta.attribute_name.max_length);
  return reservedNames().has(name.toLowerCase()) ? `${name} (custom)` : name;
}

/** Columns chosen for standard fields, and the rest (candidates for custom attributes). */
function usedColumns(draft) {
  return new Set(Object.values(draft.mapping).filter(Boolean));
}

export function initMapping(draft) {
  const mapping = {};
  const known = new Set(draft.columns);
  for (const [key, column] of Object.entries(draft.upload.suggested_mapping || {})) {
    if (known.has(column)) mapping[key] = column;
  }
  if (draft.kind === "leads") delete mapping.user_id;
  draft.mapping = mapping;
  draft.attributes = {};
  for (const column of draft.columns) draft.attributes[column] = { on: false, name: suggestName(column) };
}

/** Keep what still fits after the columns changed (another encoding or delimiter). */
function remapAfterRead(draft) {
  const known = new Set(draft.columns);
  for (const [key, column] of Object.entries(draft.mapping)) {
    if (!known.has(column)) delete draft.mapping[key];
  }
  const before = draft.attributes;
  draft.attributes = {};
  for (const column of draft.columns) {
    draft.attributes[column] = before[column] || { on: false, name: suggestName(column) };
  }
  if (!draft.mapping.email) {
    const guess = draft.columns.find((c) => /e-?mail/i.test(c));
    if (guess) draft.mapping.email = guess;
  }
}

export function previewStep(draft, { container, next, back }) {
  const status = h("p", { class: "hint", "aria-live": "polite" });
  const tableSlot = h("div");
  const encoding = select(encodings(), draft.encoding);
  const delimiter = select(delimiters(), draft.delimiter);
  const detected = draft.upload.detected || {};
  const label = (list, value) => (list.find(([v]) => v === value) || [value, value])[1];

  const drawTable = () => {
    clear(tableSlot);
    if (!draft.columns.length) {
      tableSlot.append(h("p", {}, "No columns were found with these settings."));
      return;
    }
    const region = h(
      "div",
      { class: "table-wrap scroll", role: "region", "aria-label": "Preview of the file", tabindex: "0" },
      h(
        "table",
        { class: "preview" },
        h("caption", {}, `First ${draft.preview.length} rows of ${draft.upload.file_name || "the file"}`),
        h("thead", {}, h("tr", {}, draft.columns.map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          draft.preview.map((row) => h("tr", {}, draft.columns.map((_, i) => h("td", {}, row[i] ?? "")))),
        ),
      ),
    );
    tableSlot.append(region);
  };

  const reread = async () => {
    draft.encoding = encoding.value;
    draft.delimiter = delimiter.value;
    if (!draft.file) {
      status.textContent = "The new setting is used when the import starts.";
      return;
    }
    try {
      const read = await readPreview(draft.file, draft.encoding, draft.delimiter);
      draft.columns = read.columns;
      draft.preview = read.preview;
      remapAfterRead(draft);
      status.textContent = `Read again as ${label(encodings(), draft.encoding)}, ${label(delimiters(), draft.delimiter).toLowerCase()}: ${draft.columns.length} columns.`;
    } catch (error) {
      status.textContent = `The file could not be read again: ${error.message}`;
    }
    drawTable();
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
          h("strong", { "data-testid": "detected-encoding" }, label(encodings(), detected.encoding)),
          ", ",
          h("strong", { "data-testid": "detected-delimiter" }, label(delimiters(), detected.delimiter)),
          ". Change them if the columns below look wrong.",
        ),
        h("div", { class: "row" }, field("Encoding", encoding).wrap, field("Delimiter", delimiter).wrap),
        status,
      ];
  append(container, [
    h("h2", { tabindex: "-1" }, "Check the preview"),
    settings,
    tableSlot,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: back }, "Back"),
      h("button", { type: "button", onclick: next }, "Continue"),
    ),
  ]);
}

export function mappingStep(draft, { container, next, back }) {
  const values = (column) => sampleValues(draft.columns, draft.preview, column);
  const sample = (column) => {
    const [value] = values(column);
    return value ? `Example: ${value}` : "";
  };
  const fieldErrors = {};
  const fields = mappableFields();
  if (draft.mapping.name_last || draft.source === "mailchimp_csv") fields.splice(3, 0, extra("name_last"));
  fields.push(["tags", mappingLabels().tags]);

  const attributeSlot = h("div");
  const summary = h("div", { "aria-live": "polite" });
  const continueButton = h("button", { type: "button", onclick: () => onContinue() }, "Continue");
  const blocked = h("div", { "aria-live": "polite" });
  let wasBlocked = false; // whether the columns' errors keep Continue disabled
  let emailAsked = false; // then "Select the column …" stays until the Email field changes

  const standard = h("fieldset", { class: "mapping" }, h("legend", {}, "Standard fields"));
  for (const [key, text] of fields) {
    const control = select([["", "Select this column"], ...draft.columns], draft.mapping[key] || "");
    control.id = `map-${key}`;
    const leadsId = key === "user_id" && draft.kind === "leads";
    if (leadsId) control.disabled = true;
    const example = h("span", { class: "sample" }, sample(draft.mapping[key]));
    const hint =
      key === "email"
        ? "Every record needs an email address."
        : key === "tags"
          ? "A column of tag names, separated by commas."
          : leadsId
            ? "Leads have no user ID: import as users to set one."
            : key === "signed_up_at" || key === "last_seen_at"
              ? "DD/MM/YYYY, ISO 8601 or Unix time."
              : key === "phone"
                ? "With the country code, e.g. +44 20 7946 0000."
                : null;
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
      checkColumns();
      drawAttributes();
    });
    wrap.append(example, warning, error);
    standard.append(wrap);
  }

  // The picked columns against their first values, and one column picked for two fields: an
  // error (the server refuses to start) blocks Continue until it is fixed; a warning does not.
  const checkColumns = () => {
    const { mapping } = startColumns(draft);
    const shared = sharedColumns(mapping, mappingLabels());
    let errors = 0;
    for (const [key, { control, warning, error }] of Object.entries(fieldErrors)) {
      const column = mapping[key];
      const found = column ? checkSample(key, column, values(column), { country: draft.country }) : null;
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

  const attributeInputs = [];
  const checkNames = () => {
    const active = attributeInputs.filter((a) => draft.attributes[a.column].on);
    let bad = 0;
    for (const entry of attributeInputs) {
      const state = draft.attributes[entry.column];
      clear(entry.errors);
      if (!state.on) {
        entry.input.removeAttribute("aria-invalid");
        continue;
      }
      const others = active.filter((a) => a !== entry).map((a) => draft.attributes[a.column].name);
      const problems = attributeProblems(state.name, others);
      if (problems.length) {
        bad += 1;
        entry.input.setAttribute("aria-invalid", "true");
        for (const p of problems) entry.errors.append(h("li", {}, p));
      } else {
        entry.input.removeAttribute("aria-invalid");
      }
    }
    return bad;
  };

  function drawAttributes() {
    clear(attributeSlot);
    attributeInputs.length = 0;
    const used = usedColumns(draft);
    const rest = draft.columns.filter((c) => !used.has(c));
    for (const column of draft.columns) {
      if (used.has(column) && draft.attributes[column]) draft.attributes[column].on = false;
    }
    const box = h(
      "fieldset",
      { class: "mapping" },
      h("legend", {}, "Other columns: custom attributes"),
      h(
        "p",
        { class: "hint" },
        "Tick a column to import it as a custom attribute and name it. Columns left unticked are not imported.",
      ),
    );
    if (!rest.length) box.append(h("p", {}, "Every column is mapped to a standard field."));
    for (const column of rest) {
      const state = draft.attributes[column];
      const checkId = uid("attr-on");
      const nameId = uid("attr-name");
      const errors = h("ul", { class: "field-error", id: `${nameId}-errors`, "aria-live": "polite" });
      const check = h("input", { type: "checkbox", id: checkId, checked: state.on });
      const input = h("input", {
        type: "text",
        id: nameId,
        value: state.name,
        disabled: !state.on,
        maxlength: "400",
        "aria-describedby": `${nameId}-errors`,
      });
      const entry = { column, input, errors };
      attributeInputs.push(entry);
      check.addEventListener("change", () => {
        state.on = check.checked;
        input.disabled = !check.checked;
        checkNames();
      });
      input.addEventListener("input", () => {
        state.name = input.value;
        checkNames();
      });
      box.append(
        h(
          "div",
          { class: "attribute" },
          h("div", { class: "check" }, check, h("label", { for: checkId }, `Import column “${column}”`)),
          h("p", { class: "sample" }, sample(column)),
          h("div", { class: "field" }, h("label", { for: nameId }, `Attribute name for “${column}”`), input, errors),
        ),
      );
    }
    attributeSlot.append(box);
    checkNames();
  }

  drawAttributes();
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
    if (checkNames()) {
      summary.append(
        h("div", { class: "alert error", role: "alert" }, "Fix the attribute names marked above before you continue."),
      );
      attributeSlot.querySelector("[aria-invalid=true]")?.focus();
      return;
    }
    next();
  };
  container.append(
    h("h2", { tabindex: "-1" }, "Match the columns"),
    h("p", {}, "We pre-filled the columns we recognised. Select this column for each field that your file has."),
    standard,
    attributeSlot,
    summary,
    blocked,
    h("div", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: back }, "Back"), continueButton),
  );
}

/** The start request's column choices: {mapping, custom_attributes}. */
export function startColumns(draft) {
  const mapping = { ...draft.mapping };
  if (draft.kind === "leads") delete mapping.user_id;
  const used = new Set(Object.values(mapping));
  const custom = {};
  for (const [column, state] of Object.entries(draft.attributes)) {
    if (state.on && !used.has(column) && draft.columns.includes(column)) custom[column] = state.name;
  }
  return { mapping, custom_attributes: custom };
}
