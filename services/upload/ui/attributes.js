// The mapping step's custom attributes (SPEC §6.5): every column not picked for a standard field
// is offered, ticked, as a custom attribute named after its header (a name the naming rules
// accept), or the one a remembered mapping gave it. Each goes into a new attribute, named and
// typed here (the type the server infers from the first rows preselected), or into one the
// workspace has (GET /api/attributes, with its type, which cannot change).
//
// A column's state in draft.attributes: {on, existing, name, type}. `existing` is the name of
// the workspace's attribute it goes into ("" for a new one); `name` and `type` are the new
// attribute's, kept while an existing one is picked so that switching back loses nothing.

import { clear, columnName, h, uid } from "./dom.js";
import { meta, reservedNames } from "./meta.js";

// How the attribute types are shown; which exist comes from GET /api/meta (`attribute_types`).
const TYPE_NAMES = {
  string: "Text",
  integer: "Whole number",
  float: "Decimal number",
  boolean: "True / false",
  date: "Date",
};
const types = () => meta.attribute_types;

/** "Whole number" for "integer" (the type itself when unknown). */
export function typeName(type) {
  return TYPE_NAMES[type] || type;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
const fold = (name) => name.trim().toLowerCase();

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
  if (reservedNames().has(fold(name))) {
    problems.push(`“${name.trim()}” is a standard field: map the column to that field or rename it.`);
  }
  if (others.some((other) => fold(other) === fold(name))) {
    problems.push("Another column already uses this name (names are compared ignoring case).");
  }
  return problems;
}

/** The first `max` characters of `text` (counted as the server counts: code points). */
const cut = (text, max) => [...text].slice(0, max).join("");

/**
 * A name for `column` that the naming rules accept: forbidden characters become "_", control
 * characters go, a standard field's name gets " (custom)", and a name already `taken` (folded)
 * gets " (2)", " (3)"…: "Plan" → "Plan", "plan.level" → "plan_level", "Email" → "Email (custom)".
 */
export function suggestName(column, taken = new Set()) {
  const max = meta.attribute_name.max_length;
  let name = column;
  for (const ch of meta.attribute_name.forbidden) name = name.replaceAll(ch, "_");
  name = cut(name.replace(CONTROLS, " ").replace(/\s+/g, " ").trim(), max).trim() || "column";
  if (reservedNames().has(fold(name))) name = `${cut(name, max - 9).trim()} (custom)`;
  let unique = name;
  for (let k = 2; taken.has(fold(unique)); k += 1) unique = `${cut(name, max - String(k).length - 3).trim()} (${k})`;
  taken.add(fold(unique));
  return unique;
}

/** The workspace's attribute called `name` (ignoring case), or null. */
export function existingAttribute(draft, name) {
  if (!name) return null;
  return (draft.existing || []).find((a) => fold(a.name) === fold(name)) || null;
}

/**
 * Every column's attribute state for `draft` as it was uploaded: those of the remembered
 * mapping `remembered` (ticked as it had them, unticked the rest), else every column ticked.
 * A name the workspace has already means its attribute.
 */
export function defaultAttributes(draft, remembered) {
  const types = draft.upload.column_types || {};
  const taken = new Set();
  const given = remembered?.custom_attributes || {};
  for (const name of Object.values(given)) taken.add(fold(name));
  const states = {};
  for (const column of draft.columns) {
    const kept = given[column];
    const name = kept ?? suggestName(column, taken);
    const found = existingAttribute(draft, name);
    states[column] = {
      on: remembered ? kept !== undefined : true,
      existing: found ? found.name : "",
      name,
      type: (kept && remembered.attribute_types?.[kept]) || types[column] || "string",
    };
  }
  return states;
}

/** The columns picked for standard fields. */
export function usedColumns(draft) {
  return new Set(Object.values(draft.mapping).filter(Boolean));
}

/** The columns offered as custom attributes (those no standard field takes), in file order. */
export function otherColumns(draft) {
  const used = usedColumns(draft);
  return draft.columns.filter((c) => !used.has(c));
}

/** Where a ticked column's values go: {name, type, created} (created: a new attribute). */
export function targetOf(draft, state) {
  if (state.existing) {
    const found = existingAttribute(draft, state.existing);
    return { name: state.existing, type: found ? found.type : state.type, created: false };
  }
  const found = existingAttribute(draft, state.name);
  return found ? { name: state.name, type: found.type, created: false } : { name: state.name, type: state.type, created: true };
}

/** The start body's custom columns: {custom_attributes, attribute_types} (types of new ones). */
export function chosenAttributes(draft) {
  const custom = {};
  const types = {};
  for (const column of otherColumns(draft)) {
    const state = draft.attributes[column];
    if (!state?.on) continue;
    const target = targetOf(draft, state);
    custom[column] = target.name;
    if (target.created) types[target.name] = target.type;
  }
  return { custom_attributes: custom, attribute_types: types };
}

/** The columns that will not be imported: neither a standard field nor a ticked attribute. */
export function notImported(draft) {
  return otherColumns(draft).filter((c) => !draft.attributes[c]?.on);
}

/**
 * The box of the other columns, to put in `slot`: each column's tick, its target and its
 * errors, with "Tick all" and "Untick all". `sample(column)` is the column's example line.
 * Returns `check()`, which marks every problem inline and returns how many there are.
 */
export function attributeBox(draft, slot, { sample }) {
  clear(slot);
  const rest = otherColumns(draft);
  const entries = [];
  const counter = h("p", { class: "hint", "aria-live": "polite" });
  const cap = h("p", { class: "field-error", id: uid("cap"), "aria-live": "polite" });
  const box = h(
    "fieldset",
    { class: "mapping attributes" },
    h("legend", {}, "Other columns: custom attributes"),
    h(
      "p",
      { class: "hint" },
      "Each ticked column is imported as a custom attribute: a new one, named and typed here, or one your workspace has. ",
      "Unticked columns are not imported.",
    ),
  );
  slot.append(box);
  if (!rest.length) {
    box.append(h("p", {}, "Every column is mapped to a standard field."));
    return { check: () => 0 };
  }

  const setAll = (on) => {
    for (const entry of entries) {
      draft.attributes[entry.column].on = on;
      entry.sync();
    }
    check();
  };
  box.append(
    h(
      "div",
      { class: "attribute-bar" },
      h("button", { type: "button", class: "secondary small", onclick: () => setAll(true) }, "Tick all"),
      h("button", { type: "button", class: "secondary small", onclick: () => setAll(false) }, "Untick all"),
      counter,
    ),
  );
  if (draft.existing === null) {
    box.append(
      h("p", { class: "field-error warning" }, `Your workspace's attributes could not be listed (${draft.existingError}): each column gets a new one.`),
    );
  }
  for (const column of rest) entries.push(attributeCard(draft, column, box, { sample, changed: () => check() }));
  box.append(cap);

  function check() {
    const active = entries.filter((e) => draft.attributes[e.column].on);
    const names = new Map(active.map((e) => [e, targetOf(draft, draft.attributes[e.column]).name]));
    let bad = 0;
    for (const entry of entries) {
      const state = draft.attributes[entry.column];
      const others = active.filter((a) => a !== entry).map((a) => names.get(a));
      let problems = [];
      if (state.on && !state.existing) problems = attributeProblems(state.name, others);
      else if (state.on && others.some((o) => fold(o) === fold(state.existing))) {
        problems = [`Another column already goes into “${state.existing}”: pick another attribute for one of them.`];
      }
      entry.show(problems);
      if (problems.length) bad += 1;
    }
    const created = active.filter((e) => targetOf(draft, draft.attributes[e.column]).created).length;
    const have = draft.existing ? draft.existing.length : 0;
    const room = meta.max_attributes - have;
    cap.textContent =
      created > room
        ? `This would make ${created} new attributes, and your workspace has room for ${Math.max(room, 0)} more (it has ${have} of at most ${meta.max_attributes}): untick columns or put them into existing attributes.`
        : "";
    if (cap.textContent) bad += 1;
    counter.textContent = `${active.length} of ${entries.length} ${entries.length === 1 ? "column is" : "columns are"} imported as custom attributes.`;
    return bad;
  }
  check();
  return { check };
}

/** One column's card in `box`: {column, sync(), show(problems)}; `changed()` after each edit. */
function attributeCard(draft, column, box, { sample, changed }) {
  const state = draft.attributes[column];
  const guessed = draft.upload.column_types?.[column];
  const ids = { check: uid("attr-on"), target: uid("attr-target"), name: uid("attr-name"), type: uid("attr-type") };
  const errors = h("ul", { class: "field-error", id: `${ids.name}-errors`, "aria-live": "polite" });
  const check = h("input", { type: "checkbox", id: ids.check, checked: state.on });
  const existing = draft.existing || [];
  const target = existing.length
    ? h(
        "select",
        { id: ids.target, "aria-describedby": `${ids.target}-hint ${errors.id}` },
        h("option", { value: "" }, "A new attribute"),
        h(
          "optgroup",
          { label: "Your workspace's attributes" },
          existing.map((a) => h("option", { value: a.name }, `${a.name} (${typeName(a.type)})`)),
        ),
      )
    : null;
  const targetHint = h("p", { class: "hint", id: `${ids.target}-hint` });
  const name = h("input", {
    type: "text",
    id: ids.name,
    value: state.name,
    maxlength: "400",
    autocomplete: "off",
    "aria-describedby": `${ids.name}-hint ${errors.id}`,
  });
  const nameHint = h("p", { class: "hint", id: `${ids.name}-hint` });
  const type = h(
    "select",
    { id: ids.type, "aria-describedby": `${ids.type}-hint` },
    types().map((value) => h("option", { value }, typeName(value))),
  );
  const typeHint = h("p", { class: "hint", id: `${ids.type}-hint` });
  // The card names its column once; each label's own mention of it is for screen readers.
  const label = (id, text, rest) => h("label", { for: id }, text, h("span", { class: "visually-hidden" }, ` ${rest}`));
  const nameField = h("div", { class: "field" }, label(ids.name, "Attribute name", `for “${column}”`), name, nameHint);
  const typeField = h("div", { class: "field" }, label(ids.type, "Type", `of “${column}”`), type, typeHint);

  const sync = () => {
    check.checked = state.on;
    const off = !state.on;
    if (target) {
      target.value = state.existing;
      target.disabled = off;
    }
    const found = state.existing ? existingAttribute(draft, state.existing) : null;
    targetHint.textContent = found ? `Its type is ${typeName(found.type)}; it cannot change.` : "";
    nameField.hidden = Boolean(state.existing);
    typeField.hidden = Boolean(state.existing);
    name.disabled = off;
    if (name.value !== state.name) name.value = state.name;
    // A new name that the workspace has is that attribute: its type is fixed.
    const same = state.existing ? null : existingAttribute(draft, state.name);
    nameHint.textContent = same ? `Your workspace has “${same.name}” (${typeName(same.type)}): the values go into it.` : "";
    type.value = same ? same.type : state.type;
    type.disabled = off || Boolean(same);
    typeHint.textContent = same ? "" : guessed ? `Guessed from the first rows: ${typeName(guessed)}.` : "";
  };
  check.addEventListener("change", () => {
    state.on = check.checked;
    sync();
    changed();
  });
  target?.addEventListener("change", () => {
    state.existing = target.value;
    sync();
    changed();
  });
  name.addEventListener("input", () => {
    state.name = name.value;
    sync();
    changed();
  });
  type.addEventListener("change", () => {
    state.type = type.value;
    changed();
  });

  box.append(
    h(
      "div",
      { class: "attribute" },
      h("div", { class: "check" }, check, h("label", { for: ids.check }, "Import column “", columnName(column), "”")),
      h("p", { class: "sample" }, sample(column)),
      target ? h("div", { class: "field" }, label(ids.target, "Attribute", `for “${column}”`), target, targetHint) : null,
      nameField,
      typeField,
      errors,
    ),
  );
  sync();
  return {
    column,
    sync,
    show(problems) {
      clear(errors);
      for (const p of problems) errors.append(h("li", {}, p));
      const control = state.existing ? target : name;
      for (const el of [name, target]) el?.removeAttribute("aria-invalid");
      if (problems.length) control?.setAttribute("aria-invalid", "true");
    },
  };
}
