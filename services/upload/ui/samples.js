// The mapping step's checks of the picked columns against the upload's first rows, live as the
// columns are picked. They follow the server's rules (sample_problems in
// services/upload/rules.py) in simpler terms: looser shapes than the server's parsers, so a
// column they call wrong is wrong for the server too. No DOM here: mapping.js shows the words.

const MIN_SAMPLE = 3; // fewer non-blank values than this say nothing about a column

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const INTERNATIONAL = /^[\s([]*(\+|＋|00)/; // a country code follows
const SLASH_DATE = /^\d{1,2}\/\d{1,2}\/\d{4}$/; // either order: the order is chosen later
const UNIX_TIME = /^[+-]?\d+(\.\d*)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}/; // then Date.parse decides (it alone takes "Mobile 1")
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^(?=(.*:){2})[0-9a-f:.]+$/i;

const isDate = (v) => SLASH_DATE.test(v) || UNIX_TIME.test(v) || (ISO_DATE.test(v) && !Number.isNaN(Date.parse(v)));
const isIp = (v) => IPV4.test(v) || IPV6.test(v);
const digits = (v) => (v.match(/\d/g) || []).length;

// Per checked field: whether a value fits, and what such values are called.
const CHECKS = {
  email: [(v) => EMAIL.test(v), "email addresses"],
  signed_up_at: [isDate, "dates"],
  phone: [(v) => digits(v) >= 7, "phone numbers"],
  last_seen_at: [isDate, "dates"],
  last_seen_ip: [isIp, "IP addresses"],
};

/** The non-blank values of `column` in `preview` (rows of cells in the order of `columns`). */
export function sampleValues(columns, preview, column) {
  const i = columns.indexOf(column);
  if (i < 0) return [];
  return preview.map((row) => (row[i] ?? "").trim()).filter(Boolean);
}

/**
 * What the `values` of `column` say about it being picked for `field`: `{error}` when an email
 * column holds no email address (the server refuses to start), `{warning}` when another field's
 * column holds none of its kind; null when they look right, or are fewer than three. (Phone
 * numbers without a country code are counted by countryCodes, beside the default country.)
 */
export function checkSample(field, column, values) {
  const check = CHECKS[field];
  if (!check || values.length < MIN_SAMPLE) return null;
  const [fits, noun] = check;
  const valid = values.filter(fits);
  const of = `of ${values.length} values in “${column}”`;
  if (valid.length) return null;
  if (field === "email") return { error: `0 ${of} look like email addresses: select the column that holds them.` };
  return { warning: `0 ${of} look like ${noun}: select the column that holds them, or leave this field empty.` };
}

/**
 * Of the `values` of a phone column: how many look like phone numbers (seven digits or more),
 * and how many of those are written without a country code (+44…, 0044…): {numbers, national}.
 */
export function countryCodes(values) {
  const numbers = values.filter(CHECKS.phone[0]);
  return { numbers: numbers.length, national: numbers.filter((v) => !INTERNATIONAL.test(v)).length };
}

/**
 * For each field of `mapping` whose column is also picked for another: the sentence saying so.
 * `labels` ({field: label}, in the order the fields are offered) names and orders the fields.
 */
export function sharedColumns(mapping, labels) {
  const order = Object.keys(labels);
  const byColumn = new Map();
  for (const field of Object.keys(mapping).sort((a, b) => order.indexOf(a) - order.indexOf(b))) {
    const column = mapping[field];
    if (column) byColumn.set(column, [...(byColumn.get(column) || []), field]);
  }
  const said = {};
  for (const [column, fields] of byColumn) {
    if (fields.length < 2) continue;
    const names = fields.map((f) => labels[f] || f);
    const listed = `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
    const text = `Column “${column}” is selected for ${fields.length === 2 ? "both " : ""}${listed}: give each field its own column.`;
    for (const field of fields) said[field] = text;
  }
  return said;
}
