// Building the page safely: every piece of data becomes a text node or an attribute value,
// never HTML. `h("p", {class: "x"}, "text", child)` is the only way views create elements.

const PROPERTIES = new Set(["value", "checked", "disabled", "selected", "hidden", "multiple"]);

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "for") {
      el.htmlFor = value;
    } else if (PROPERTIES.has(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let counter = 0;
/** A unique id for pairing a <label for> with its control. */
export function uid(prefix = "f") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A labelled control: returns {wrap, input}. `control` is an element without an id yet. */
export function field(labelText, control, { hint, required } = {}) {
  const id = control.id || uid("field");
  control.id = id;
  const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  if (required) control.required = true;
  const wrap = h(
    "div",
    { class: "field" },
    h("label", { for: id }, labelText, required ? h("span", { class: "req" }, " (required)") : null),
    control,
    hintEl,
  );
  return { wrap, input: control };
}

/**
 * Radio buttons named `name`, one `.choice` each: `options` are [value, label, hint?];
 * `onChange(value)` runs when one is picked. Wrap them in a fieldset with a legend.
 */
export function radios(name, options, value, onChange) {
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

export function select(options, value) {
  const el = h("select");
  for (const option of options) {
    const [optValue, text] = Array.isArray(option) ? option : [option, option];
    el.append(h("option", { value: optValue, selected: optValue === value }, text));
  }
  if (value !== undefined) el.value = value;
  return el;
}

/** An alert box for an API error: its message and every detail the API gave. */
export function errorBox(error, intro) {
  const details = Array.isArray(error?.details)
    ? error.details
    : error?.details && typeof error.details === "object"
      ? Object.entries(error.details).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
      : [];
  return h(
    "div",
    { class: "alert error", role: "alert" },
    intro ? h("p", {}, h("strong", {}, intro)) : null,
    h("p", {}, error?.message || String(error)),
    details.length
      ? h(
          "ul",
          {},
          details.map((d) =>
            h("li", {}, typeof d === "string" ? d : d && d.field ? `${d.field}: ${d.message}` : JSON.stringify(d)),
          ),
        )
      : null,
  );
}

/**
 * A secondary button (`primary`: the page's main action) that runs `work()` when clicked,
 * disabled meanwhile, and says its failure beside it (`failure` starts the sentence). `work`
 * may return a function to run once the button is enabled again (a dialog that needs the
 * button as its opener).
 */
export function actionButton(label, { ariaLabel = null, failure, work, primary = false }) {
  const result = h("span", { class: "inline-result", "aria-live": "polite" });
  const button = h(
    "button",
    {
      type: "button",
      class: primary ? null : "secondary",
      "aria-label": ariaLabel,
      onclick: async () => {
        clear(result);
        button.disabled = true;
        let then;
        try {
          then = await work();
        } catch (error) {
          result.append(errorBox(error, failure));
          return;
        } finally {
          button.disabled = false;
        }
        if (then) await then(button);
      },
    },
    label,
  );
  return h("span", { class: "download" }, button, result);
}

export function notice(text, kind = "info") {
  return h("div", { class: `alert ${kind}`, role: "status" }, text);
}

export function fmtDate(value) {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * A person's date: a value at midnight UTC is a date alone (one imported as 18/09/2014 or
 * 2014-09-18), shown as that date in every time zone — "18 Sept 2014", never "17 Sept 2014,
 * 17:00" in California; any other instant as fmtDate shows it.
 */
export function fmtDay(value) {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const midnight = date.getUTCHours() === 0 && date.getUTCMinutes() === 0 && date.getUTCSeconds() === 0 && date.getUTCMilliseconds() === 0;
  return midnight ? date.toLocaleDateString(undefined, { dateStyle: "medium", timeZone: "UTC" }) : fmtDate(value);
}

/**
 * A file's column header as the page shows it: whole, but a long one (a 300-character header)
 * is cut to two lines with its full name on hover; screen readers read it whole.
 */
export function columnName(name) {
  return h("span", { class: "column-name", title: name.length > 40 ? name : null }, name);
}

export function fmtNumber(value) {
  return value === null || value === undefined ? "—" : Number(value).toLocaleString();
}

/**
 * A table whose cells carry their column name, so narrow screens can show each row as a card.
 * `columns` is a list of header texts; `rows` a list of lists of cell content (text or nodes).
 */
export function table(columns, rows, { caption, cards = true } = {}) {
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: cards ? "cards" : "" },
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h("tr", {}, row.map((cell, i) => h("td", { "data-label": columns[i] }, cell))),
        ),
      ),
    ),
  );
}
