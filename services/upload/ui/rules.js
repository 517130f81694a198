// The audience rule builder: rows of field / operator / value joined by AND or OR (AND binds
// first, as in "a AND b OR c" = "(a and b) or c"), compiled to the filter language, with a live
// count of the people who match now (POST /api/audiences/count).

import { api } from "./api.js";
import { clear, h, select, uid } from "./dom.js";
import { filterFields } from "./meta.js";

// The fields a rule can test: a tag, the standard fields the server lists (meta.js), a custom
// attribute or an event count.
const fields = () => [["tag", "Tag", "tag"], ...filterFields(), ["custom", "Custom attribute…", "custom"], ["event", "Event count…", "number"]];
const fieldKind = (name) => fields().find(([v]) => v === name)?.[2];
const fieldLabel = (name) => fields().find(([v]) => v === name)?.[1];

const OPS = {
  tag: [
    ["eq", "has the tag"],
    ["ne", "does not have the tag"],
  ],
  text: [
    ["eq", "is"],
    ["ne", "is not"],
    ["contains", "contains"],
    ["starts_with", "starts with"],
    ["ends_with", "ends with"],
    ["in", "is one of"],
    ["exists", "is known"],
    ["not_exists", "is unknown"],
  ],
  date: [
    ["after", "is after"],
    ["before", "is before"],
    ["eq", "is on"],
    ["ne", "is not on"],
    ["exists", "is known"],
    ["not_exists", "is unknown"],
  ],
  number: [
    ["eq", "equals"],
    ["ne", "does not equal"],
    ["gt", "is more than"],
    ["gte", "is at least"],
    ["lt", "is less than"],
    ["lte", "is at most"],
    ["in", "is one of"],
    ["exists", "is known"],
    ["not_exists", "is unknown"],
  ],
  boolean: [
    ["eq", "is"],
    ["ne", "is not"],
    ["exists", "is known"],
    ["not_exists", "is unknown"],
  ],
};
const OP_LABEL = Object.fromEntries(Object.values(OPS).flat().map(([v, t]) => [v, t]));
const VALUE_TYPES = [
  ["text", "as text"],
  ["number", "as a number"],
  ["boolean", "as true / false"],
  ["date", "as a date"],
];

function kindOf(row) {
  const kind = fieldKind(row.field);
  return kind === "custom" ? row.valueType : kind;
}

function newRow(join = "and") {
  return { join, field: "tag", name: "", op: "eq", value: "", valueType: "text", dateMode: "date" };
}

/** The filter for one row, or a string saying what is missing. */
function leaf(row) {
  const kind = kindOf(row);
  let field = row.field;
  if (field === "custom") {
    if (!row.name.trim()) return "name the custom attribute";
    field = `custom.${row.name.trim()}`;
  } else if (field === "event") {
    if (!row.name.trim()) return "name the event";
    field = `event:${row.name.trim()}`;
  }
  if (row.op === "exists" || row.op === "not_exists") return { field, op: row.op };
  const raw = row.value.trim();
  if (raw === "" && kind !== "boolean") return "fill in a value";
  const convert = (text) => {
    if (kind === "number") {
      const n = Number(text);
      return Number.isFinite(n) && text !== "" ? n : null;
    }
    if (kind === "boolean") return text === "true";
    return text;
  };
  let value;
  if (row.op === "in") {
    value = raw.split(",").map((v) => convert(v.trim()));
    if (value.some((v) => v === null || v === "")) return "list values separated by commas";
  } else if (kind === "date" && row.dateMode === "days_ago") {
    const days = Number(raw);
    if (!Number.isInteger(days) || days < 0) return "enter a whole number of days";
    value = { days_ago: days };
  } else if (kind === "date" && !DATE_VALUE.test(raw)) {
    // Said here, in the form's words, rather than as the filter language's refusal.
    return "enter a date as YYYY-MM-DD or DD/MM/YYYY";
  } else {
    value = convert(kind === "boolean" ? row.value || "true" : raw);
    if (value === null) return "enter a number";
  }
  return { field, op: row.op, value };
}

// The dates the filter language reads (shared.values.parse_datetime): ISO 8601, DD/MM/YYYY.
const DATE_VALUE = /^(\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?|\d{1,2}\/\d{1,2}\/\d{4})$/;

/** Rows → filter (AND groups joined by OR); {"and": []} (everyone) for no rows. */
export function compile(rows) {
  const problems = [];
  const groups = [];
  rows.forEach((row, i) => {
    const node = leaf(row);
    if (typeof node === "string") problems.push(`Rule ${i + 1}: ${node}.`);
    if (i === 0 || row.join === "or") groups.push([]);
    groups[groups.length - 1].push(node);
  });
  if (problems.length) return { problems };
  const and = (group) => (group.length === 1 ? group[0] : { and: group });
  if (!groups.length) return { filter: { and: [] } };
  return { filter: groups.length === 1 ? and(groups[0]) : { or: groups.map(and) } };
}

function valueText(value) {
  if (value && typeof value === "object" && "days_ago" in value) return `${value.days_ago} days ago`;
  if (Array.isArray(value)) return value.map(valueText).join(", ");
  return typeof value === "string" ? `“${value}”` : String(value);
}

/** A filter in words, e.g. 'Has the tag “VIP” AND plan is “pro”'. */
export function describe(filter) {
  if (!filter || typeof filter !== "object") return String(filter);
  if (Array.isArray(filter.and)) {
    if (!filter.and.length) return "Everyone";
    return filter.and.map((f) => (f.or ? `(${describe(f)})` : describe(f))).join(" AND ");
  }
  if (Array.isArray(filter.or)) {
    if (!filter.or.length) return "No one";
    return filter.or.map((f) => (f.and ? `(${describe(f)})` : describe(f))).join(" OR ");
  }
  if (filter.not) return `NOT (${describe(filter.not)})`;
  const field = String(filter.field || "");
  const name = field.startsWith("custom.")
    ? field.slice(7)
    : field.startsWith("event:")
      ? `times “${field.slice(6)}” happened`
      : field === "tag"
        ? "" // "has the tag “VIP”", not "Tag has the tag “VIP”" (the UI review's P14)
        : fieldLabel(field) || field;
  const op = field === "tag" ? { eq: "Has the tag", ne: "Does not have the tag" }[filter.op] || `Tag ${filter.op}` : OP_LABEL[filter.op] || filter.op;
  if (!name) return "value" in filter ? `${op} ${valueText(filter.value)}` : op;
  return "value" in filter ? `${name} ${op} ${valueText(filter.value)}` : `${name} ${op}`;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** One filter leaf as a builder row, or null when the builder cannot show it. */
function rowOf(node, join) {
  if (!node || typeof node !== "object" || typeof node.field !== "string") return null;
  const row = newRow(join);
  const field = node.field;
  const value = node.value;
  if (field.startsWith("custom.")) {
    row.field = "custom";
    row.name = field.slice(7);
    const sample = Array.isArray(value) ? value[0] : value;
    if (typeof sample === "number") row.valueType = "number";
    else if (typeof sample === "boolean") row.valueType = "boolean";
    else if ((sample && typeof sample === "object" && "days_ago" in sample) || (typeof sample === "string" && ISO_DATE.test(sample) && ["before", "after"].includes(node.op))) row.valueType = "date";
  } else if (field.startsWith("event:")) {
    row.field = "event";
    row.name = field.slice(6);
  } else if (field === "tag" || fieldKind(field)) {
    row.field = field;
  } else {
    return null;
  }
  const ops = row.field === "tag" ? OPS.tag : OPS[kindOf(row)];
  if (!ops || !ops.some(([v]) => v === node.op)) return null;
  row.op = node.op;
  if (value && typeof value === "object" && !Array.isArray(value)) {
    if (!("days_ago" in value)) return null;
    row.dateMode = "days_ago";
    row.value = String(value.days_ago);
  } else if (Array.isArray(value)) {
    row.value = value.map(String).join(", ");
  } else if (value !== undefined) {
    row.value = String(value);
  }
  return row;
}

/**
 * The rows of a filter the builder made (rules joined by AND, groups by OR), to edit it; null
 * when the filter has another shape (a NOT, nested groups: written through the API).
 */
export function rowsFrom(filter) {
  if (!filter || typeof filter !== "object") return null;
  const groups = Array.isArray(filter.or) ? filter.or : [filter];
  const rows = [];
  for (const [g, group] of groups.entries()) {
    const leaves = Array.isArray(group.and) ? group.and : [group];
    if (g > 0 && !leaves.length) return null;
    for (const [i, node] of leaves.entries()) {
      const row = rowOf(node, g > 0 && i === 0 ? "or" : "and");
      if (!row) return null;
      rows.push(row);
    }
  }
  return rows;
}

/**
 * The audience editor; ``onRows(n)`` is told how many rules there are after each change.
 * ``initial``: the rows to start from (rowsFrom), else one empty rule.
 */
export function ruleBuilder({ onRows = () => {}, initial = null } = {}) {
  const rows = initial ? initial.map((row) => ({ ...row })) : [newRow()];
  const list = h("div", { class: "rules" });
  const count = h("output", { class: "live-count", "aria-live": "polite", id: "audience-count" });
  let sequence = 0;
  let timer = null;

  const refreshCount = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++sequence;
      const compiled = compile(rows);
      clear(count);
      if (compiled.problems) {
        count.append(h("span", { class: "pending" }, `Count waits for the rules: ${compiled.problems.join(" ")}`));
        return;
      }
      count.append("Counting…");
      try {
        const result = await api("POST", "/api/audiences/count", { filter: compiled.filter });
        if (mine !== sequence) return;
        clear(count).append(
          h("strong", { "data-testid": "audience-count" }, String(result.count)),
          ` ${result.count === 1 ? "person matches" : "people match"} now`,
        );
      } catch (error) {
        if (mine !== sequence) return;
        const details = Array.isArray(error.details) ? error.details : [];
        clear(count).append(h("span", { class: "count-error" }, error.message));
        if (details.length) {
          count.append(h("ul", {}, details.map((d) => h("li", {}, typeof d === "string" ? d : JSON.stringify(d)))));
        }
      }
    }, 300);
  };

  const draw = (focusIndex, focusPart = "field") => {
    clear(list);
    rows.forEach((row, i) => {
      const n = i + 1;
      const kind = kindOf(row);
      const ids = { join: uid("join"), field: uid("rule-field"), name: uid("rule-name"), type: uid("rule-type"), op: uid("rule-op"), value: uid("rule-value"), mode: uid("rule-mode") };
      const change = (redraw) => () => {
        if (redraw) draw(i, redraw);
        refreshCount();
      };
      const parts = [];
      if (i > 0) {
        const join = select([["and", "AND"], ["or", "OR"]], row.join);
        join.id = ids.join;
        join.addEventListener("change", () => {
          row.join = join.value;
          change(false)();
        });
        parts.push(h("div", { class: "field join" }, h("label", { for: ids.join }, `Join rule ${n}`), join));
      }
      const fieldSelect = select(fields().map(([v, t]) => [v, t]), row.field);
      fieldSelect.id = ids.field;
      fieldSelect.addEventListener("change", () => {
        row.field = fieldSelect.value;
        const ops = OPS[kindOf(row)];
        if (!ops.some(([v]) => v === row.op)) row.op = ops[0][0];
        change("field")();
      });
      parts.push(h("div", { class: "field" }, h("label", { for: ids.field }, `Rule ${n} field`), fieldSelect));
      if (row.field === "custom" || row.field === "event") {
        const name = h("input", { type: "text", id: ids.name, value: row.name, autocomplete: "off" });
        name.addEventListener("input", () => {
          row.name = name.value;
          refreshCount();
        });
        const text = row.field === "custom" ? `Rule ${n} attribute name` : `Rule ${n} event name`;
        parts.push(h("div", { class: "field" }, h("label", { for: ids.name }, text), name));
      }
      if (row.field === "custom") {
        const type = select(VALUE_TYPES, row.valueType);
        type.id = ids.type;
        type.addEventListener("change", () => {
          row.valueType = type.value;
          const ops = OPS[kindOf(row)];
          if (!ops.some(([v]) => v === row.op)) row.op = ops[0][0];
          change("type")();
        });
        parts.push(h("div", { class: "field" }, h("label", { for: ids.type }, `Rule ${n} compare`), type));
      }
      const op = select(row.field === "tag" ? OPS.tag : OPS[kind], row.op);
      op.id = ids.op;
      op.addEventListener("change", () => {
        row.op = op.value;
        change("op")();
      });
      parts.push(h("div", { class: "field" }, h("label", { for: ids.op }, `Rule ${n} operator`), op));
      if (row.op !== "exists" && row.op !== "not_exists") {
        let value;
        if (kind === "boolean" && row.op !== "in") {
          value = select([["true", "true"], ["false", "false"]], row.value || "true");
          row.value = value.value;
        } else {
          const placeholder =
            row.op === "in" ? "a, b, c" : kind === "date" && row.dateMode === "date" ? "YYYY-MM-DD" : kind === "number" || row.dateMode === "days_ago" ? "0" : "";
          value = h("input", { type: "text", value: row.value, placeholder, autocomplete: "off" });
        }
        value.id = ids.value;
        const update = () => {
          row.value = value.value;
          refreshCount();
        };
        value.addEventListener("input", update);
        value.addEventListener("change", update);
        parts.push(h("div", { class: "field grow" }, h("label", { for: ids.value }, `Rule ${n} value`), value));
        if (kind === "date" && ["before", "after", "eq", "ne"].includes(row.op)) {
          const mode = select([["date", "date"], ["days_ago", "days ago"]], row.dateMode);
          mode.id = ids.mode;
          mode.addEventListener("change", () => {
            row.dateMode = mode.value;
            change("mode")();
          });
          parts.push(h("div", { class: "field" }, h("label", { for: ids.mode }, `Rule ${n} value is a`), mode));
        }
      }
      const remove = h(
        "button",
        {
          type: "button",
          class: "secondary small",
          "aria-label": `Remove rule ${n}`,
          onclick: () => {
            rows.splice(i, 1);
            draw(Math.min(i, rows.length - 1), "field");
            refreshCount();
            if (!rows.length) addButton.focus();
          },
        },
        "Remove",
      );
      parts.push(h("div", { class: "field remove" }, remove));
      list.append(h("div", { class: "rule", role: "group", "aria-label": `Rule ${n}` }, parts));
      if (i === focusIndex) {
        const target = { field: ids.field, type: ids.type, op: ids.op, mode: ids.mode }[focusPart] || ids.field;
        queueMicrotask(() => document.getElementById(target)?.focus());
      }
    });
    if (!rows.length) list.append(h("p", { class: "hint" }, "No rules: the message is for everyone."));
    onRows(rows.length);
  };

  const addButton = h(
    "button",
    {
      type: "button",
      class: "secondary",
      onclick: () => {
        rows.push(newRow(rows.length ? "and" : "and"));
        draw(rows.length - 1, "field");
        refreshCount();
      },
    },
    "Add a rule",
  );

  draw(-1);
  refreshCount();
  const element = h(
    "fieldset",
    { class: "audience" },
    h("legend", {}, "Audience"),
    h("p", { class: "hint" }, "People who match these rules. AND is applied before OR: “A AND B OR C” means (A and B) or C."),
    list,
    h("div", { class: "actions left" }, addButton),
    h("p", { class: "count-line" }, count),
  );
  return { element, compile: () => compile(rows) };
}
